# The Debian packages as a user gets them: `cpack -G DEB` in the build tree, every package
# unpacked with `dpkg-deb -x` into one scratch root, then programs outside the Trident tree built
# against <root>/usr and run. Run by ctest with -D BUILD_DIR, SOURCE_DIR, WORK_DIR, CXX, CPACK and
# LAYERS (the layers built, comma-separated).
#
#   1. The packages: libtrident-dev and trident always, libtrident-cluster-dev and
#      libtrident-media-dev when those layers are built; each with its copyright file. The
#      runtime package depends on neither MPI nor FFmpeg.
#   2. lintian (when installed) reports no error on any of them.
#   3. The command in the root runs (`trident --version`) and is stripped.
#   4. Consumers with CMAKE_PREFIX_PATH=<root>/usr: exec, http, proc, media, cluster; and the
#      exec program with pkg-config and plain c++.
# Without dpkg-deb the test prints "SKIPPED:" (the test's SKIP_REGULAR_EXPRESSION).
cmake_policy(VERSION 3.25)
find_program(dpkg_deb dpkg-deb)
if(NOT dpkg_deb)
  message("SKIPPED: dpkg-deb is not installed (a Debian tool: apt-get install dpkg), so no .deb can be unpacked")
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/consume.cmake)
string(REPLACE "," ";" layers "${LAYERS}")
file(REMOVE_RECURSE ${WORK_DIR})

execute_process(COMMAND ${CPACK} -G DEB -B ${WORK_DIR}/packages --config ${BUILD_DIR}/CPackConfig.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "cpack -G DEB failed (${rc}):\n${out}\n${err}")
endif()
file(GLOB debs ${WORK_DIR}/packages/*.deb)
set(expected libtrident-dev trident)
foreach(layer cluster media)
  if(layer IN_LIST layers)
    list(APPEND expected libtrident-${layer}-dev)
  endif()
endforeach()
set(made)
set(root ${WORK_DIR}/root)
foreach(deb IN LISTS debs)
  execute_process(COMMAND ${dpkg_deb} -f ${deb} Package OUTPUT_VARIABLE package OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${dpkg_deb} -f ${deb} Depends OUTPUT_VARIABLE depends OUTPUT_STRIP_TRAILING_WHITESPACE)
  message(STATUS "${package}: Depends: ${depends}")
  list(APPEND made ${package})
  if(package STREQUAL "libtrident-dev" AND depends MATCHES "openmpi|libav|whisper")
    message(FATAL_ERROR "libtrident-dev depends on MPI or FFmpeg: ${depends}")
  endif()
  execute_process(COMMAND ${dpkg_deb} -x ${deb} ${root} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "dpkg-deb -x ${deb} failed (${rc})")
  endif()
  if(NOT EXISTS ${root}/usr/share/doc/${package}/copyright)
    message(FATAL_ERROR "${package} has no /usr/share/doc/${package}/copyright")
  endif()
endforeach()
foreach(package IN LISTS expected)
  if(NOT package IN_LIST made)
    message(FATAL_ERROR "cpack made no ${package} package (made: ${made})")
  endif()
endforeach()

find_program(lintian lintian)
if(lintian)
  execute_process(COMMAND ${lintian} --fail-on error ${debs} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "lintian:\n${out}${err}")
  if(rc)
    message(FATAL_ERROR "lintian reports errors on the packages (${rc}):\n${out}\n${err}")
  endif()
else()
  message(STATUS "no lintian: the packages are not checked by it")
endif()

# The command runs from the root, and carries no symbol table.
execute_process(COMMAND ${root}/usr/bin/trident --version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc OR NOT out MATCHES "trident ")
  message(FATAL_ERROR "the packaged trident --version failed (${rc}): ${out}${err}")
endif()
find_program(readelf readelf)
if(readelf)
  execute_process(COMMAND ${readelf} -S ${root}/usr/bin/trident OUTPUT_VARIABLE sections)
  if(sections MATCHES "\\.symtab|\\.debug_info")
    message(FATAL_ERROR "the packaged trident is not stripped")
  endif()
endif()

trident_check_relocatable(${root}/usr /usr/lib /usr/include ${root} ${BUILD_DIR} ${SOURCE_DIR} /.cache/trident)
foreach(kind exec http proc media cluster)
  if(kind STREQUAL "exec" OR kind STREQUAL "http" OR kind STREQUAL "proc" OR kind IN_LIST layers)
    trident_consume(${kind} ${root}/usr ${WORK_DIR}/${kind})
  endif()
endforeach()
file(GLOB pc_dirs ${root}/usr/lib/pkgconfig ${root}/usr/lib/*/pkgconfig)
list(GET pc_dirs 0 pc_dir)
trident_consume_pkg_config(${pc_dir} ${WORK_DIR}/pkg-config trident-exec exec_only.cpp)
file(REMOVE_RECURSE ${WORK_DIR})
