# Debian packages with CPack: `cmake --workflow --preset package` (configure, build, cpack -G DEB;
# CMakePresets.json), or `cpack -G DEB` in a build folder. docs/packaging.md describes them.
# One package per install component (cmake/install.cmake):
#
#   libtrident-dev          dev      the runtime layers: headers, static libraries, CMake package,
#                                    .pc files; Depends on the -dev packages those layers need
#   libtrident-cluster-dev  cluster  the cluster layer; Depends libtrident-dev, libopenmpi-dev
#   libtrident-media-dev    media    the media layer and the whisper.cpp/ggml static libraries it
#                                    was built with; Depends libtrident-dev and FFmpeg's, OpenSSL's
#   trident                 command  the command's executables, stripped; Depends computed by
#                                    dpkg-shlibdeps
#
# so that the runtime package pulls in neither MPI nor FFmpeg. Each package carries
# /usr/share/doc/<package>/copyright (machine-readable, the MIT licence of LICENSE) and
# changelog.Debian.gz; these are installed only into packages (EXCLUDE_FROM_ALL), not by a plain
# `cmake --install`.

set(TRIDENT_PACKAGE_MAINTAINER "The Trident authors <trident@example.org>" CACHE STRING
    "Maintainer field of the Debian packages (name <address>)")
set(TRIDENT_PACKAGE_RELEASE 1 CACHE STRING "Debian revision of the packages (the -N of 0.2.0-N)")

set(trident_deb_version ${PROJECT_VERSION}-${TRIDENT_PACKAGE_RELEASE})
set(trident_components dev)
if(TRIDENT_LAYER_cluster)
  list(APPEND trident_components cluster)
endif()
if(TRIDENT_LAYER_media)
  list(APPEND trident_components media)
endif()
if(TRIDENT_BUILD_CLI)
  list(APPEND trident_components command)
endif()

set(trident_package_dev libtrident-dev)
set(trident_package_cluster libtrident-cluster-dev)
set(trident_package_media libtrident-media-dev)
set(trident_package_command trident)

# Depends: the -dev packages of what each layer's library calls or its headers include
# (cmake/dependencies.cmake), joined for the layers of each package.
set(trident_depends_dev)
foreach(layer IN LISTS TRIDENT_BUILT_LAYERS)
  if(layer STREQUAL "cluster" OR layer STREQUAL "media")
    continue()
  endif()
  if(layer STREQUAL "aio" AND NOT TRIDENT_CONFIG_AIO_URING)
    continue()
  endif()
  list(APPEND trident_depends_dev ${TRIDENT_DEBIAN_DEPENDS_${layer}})
endforeach()
set(trident_depends_cluster "libtrident-dev (= ${trident_deb_version})" ${TRIDENT_DEBIAN_DEPENDS_cluster})
set(trident_depends_media "libtrident-dev (= ${trident_deb_version})" ${TRIDENT_DEBIAN_DEPENDS_media})
if(NOT TRIDENT_WHISPER_FROM_CACHE)
  list(APPEND trident_depends_media libwhisper-dev)
endif()
foreach(component dev cluster media)
  list(REMOVE_DUPLICATES trident_depends_${component})
  string(REPLACE ";" ", " trident_depends_${component} "${trident_depends_${component}}")
endforeach()

# The copyright file (Debian's machine-readable format), with the licence text of LICENSE.
file(READ ${PROJECT_SOURCE_DIR}/LICENSE trident_license)
string(REGEX REPLACE "^[^\n]*\n\n[^\n]*\n\n" "" trident_license_body "${trident_license}")  # title, copyright line
string(REGEX REPLACE "\n\n" "\n.\n" trident_license_body "${trident_license_body}")
string(REGEX REPLACE "\n$" "" trident_license_body "${trident_license_body}")
string(REGEX REPLACE "\n" "\n " trident_license_body "${trident_license_body}")
set(trident_copyright_header "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: trident
Upstream-Contact: ${TRIDENT_PACKAGE_MAINTAINER}

Files: *
Copyright: 2026 The Trident authors
License: Expat
")
set(trident_copyright_whisper "
Files: usr/lib/*/trident/whisper/* usr/lib/trident/whisper/*
Copyright: 2023-2026 The ggml authors
Comment: whisper.cpp and ggml, built static by Trident's tools/whisper_cache.sh
License: Expat
")
set(trident_copyright_license "
License: Expat
 The MIT License, as in LICENSE:
 .
 ${trident_license_body}
")

string(TIMESTAMP trident_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
find_program(TRIDENT_GZIP gzip)
foreach(component IN LISTS trident_components)
  set(package ${trident_package_${component}})
  set(doc_dir ${PROJECT_BINARY_DIR}/debian/${package})
  set(copyright "${trident_copyright_header}")
  if(component STREQUAL "media" AND TRIDENT_WHISPER_FROM_CACHE)
    string(APPEND copyright "${trident_copyright_whisper}")
  endif()
  string(APPEND copyright "${trident_copyright_license}")
  file(WRITE ${doc_dir}/copyright.new "${copyright}")
  configure_file(${doc_dir}/copyright.new ${doc_dir}/copyright COPYONLY)
  install(FILES ${doc_dir}/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
          COMPONENT ${component} EXCLUDE_FROM_ALL)
  if(TRIDENT_GZIP)
    file(WRITE ${doc_dir}/changelog.Debian
"trident (${trident_deb_version}) unstable; urgency=medium

  * Trident ${PROJECT_VERSION}, packaged with CPack from the source tree;
    its CHANGELOG.md lists the changes.

 -- ${TRIDENT_PACKAGE_MAINTAINER}  ${trident_changelog_date}
")
    execute_process(COMMAND ${TRIDENT_GZIP} -9nc ${doc_dir}/changelog.Debian
                    OUTPUT_FILE ${doc_dir}/changelog.Debian.gz)
    install(FILES ${doc_dir}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
            COMPONENT ${component} EXCLUDE_FROM_ALL)
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME trident)
set(CPACK_PACKAGE_VENDOR "The Trident authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${TRIDENT_PACKAGE_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${trident_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${TRIDENT_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SOURCE trident)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${TRIDENT_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${trident_package_dev})
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${trident_depends_dev}")
set(CPACK_COMPONENT_DEV_DESCRIPTION "C++20 runtime for threads, processes and async I/O - development files
Trident is a C++20 runtime: thread pools and futures, an event loop with
coroutines and sockets (epoll or io_uring), process pools with a shared-
memory queue, HTTP sessions on libcurl, and an advisor that measures
work under each model. This package holds the runtime layers (core,
trace, sync, exec, aio, proc, http, advisor) as static libraries with
their headers, the CMake package (find_package(trident COMPONENTS ...))
and pkg-config files (trident-exec, ..., trident).")

set(CPACK_DEBIAN_CLUSTER_PACKAGE_NAME ${trident_package_cluster})
set(CPACK_DEBIAN_CLUSTER_PACKAGE_DEPENDS "${trident_depends_cluster}")
set(CPACK_COMPONENT_CLUSTER_DESCRIPTION "Trident's cluster layer: tasks on MPI ranks - development files
The cluster layer of the Trident C++20 runtime runs the registered tasks
of a process pool on the ranks of an Open MPI job, with the process
pool's interface. This package holds its static library, headers, CMake
component (trident::cluster) and pkg-config file (trident-cluster).")

set(CPACK_DEBIAN_MEDIA_PACKAGE_NAME ${trident_package_media})
set(CPACK_DEBIAN_MEDIA_PACKAGE_DEPENDS "${trident_depends_media}")
set(CPACK_COMPONENT_MEDIA_DESCRIPTION "Trident's media layer: FFmpeg and whisper.cpp - development files
The media layer of the Trident C++20 runtime decodes audio and video
with FFmpeg's libraries and transcribes speech with whisper.cpp. This
package holds its static library, headers, CMake component
(trident::media) and pkg-config file (trident-media), with the
whisper.cpp and ggml static libraries it was built with.")

set(CPACK_DEBIAN_COMMAND_PACKAGE_NAME ${trident_package_command})
set(CPACK_DEBIAN_COMMAND_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_COMMAND_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMMAND_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_COMMAND_PACKAGE_SUGGESTS "openmpi-bin, nginx")
set(CPACK_COMPONENT_COMMAND_DESCRIPTION "command of the Trident runtime: tour, fetch, bench, transcribe
The trident command is built on the Trident C++20 runtime: trident tour
runs the lesson's cells, trident fetch downloads many URLs at once,
trident bench compares the runtime with Python and C peers, trident
scenarios and trident advise measure work under each model, and trident
transcribe turns speech into text. The heavy commands are executables of
their own (trident-scenarios, trident-transcribe, trident-cluster-demo)
that trident runs.")

include(CPack)
