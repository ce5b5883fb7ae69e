# Install rules of the library: every layer built is installed, with its headers, its part of the
# CMake package and its pkg-config file. Included from CMakeLists.txt when TRIDENT_INSTALL is ON.
#
# Install components (one Debian package each, cmake/packaging.cmake):
#   dev      libtrident-dev          the runtime layers (those of trident::trident), the umbrella,
#                                    the package config and its find modules, their .pc files
#   cluster  libtrident-cluster-dev  the cluster layer (MPI)
#   media    libtrident-media-dev    the media layer (FFmpeg, whisper.cpp), with the whisper.cpp
#                                    and ggml static libraries it was built with
#   command  trident                 the command's executables (CMakeLists.txt) and what the
#                                    product under app/ installs
#
# The CMake package: find_package(trident CONFIG REQUIRED COMPONENTS exec http ...). Each layer is
# an export set of its own (trident-<layer>-targets.cmake); tridentConfig.cmake includes the
# targets of the components asked for and of the layers they sit on, and looks only for those
# layers' own dependencies. Nothing exported names a path of this machine: the libraries found
# by path (liburing, FFmpeg's) are imported targets that the config recreates with the find
# modules installed beside it, and the bundled whisper.cpp is found relative to the config.

set(TRIDENT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/trident)
set(TRIDENT_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
set(TRIDENT_WHISPER_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/trident/whisper)

# The install component (and so the Debian package) of a layer.
function(trident_layer_component layer out)
  if(layer STREQUAL "cluster" OR layer STREQUAL "media")
    set(${out} ${layer} PARENT_SCOPE)
  else()
    set(${out} dev PARENT_SCOPE)
  endif()
endfunction()

# ---------------------------------------------------------------------------------------------
# Headers, libraries and one export set per layer.
foreach(layer IN LISTS TRIDENT_BUILT_LAYERS)
  trident_layer_component(${layer} component)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/trident/${layer}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trident COMPONENT ${component})
  install(TARGETS trident_${layer} EXPORT trident-${layer}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${component}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${component}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${component})
  install(EXPORT trident-${layer} NAMESPACE trident:: FILE trident-${layer}-targets.cmake
          DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR} COMPONENT ${component})
endforeach()
install(FILES ${TRIDENT_LAYER_INCLUDE_ROOT}/core/trident/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trident COMPONENT dev)
if(TARGET trident)
  install(FILES ${PROJECT_SOURCE_DIR}/include/trident/trident.hpp
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trident COMPONENT dev)
  install(TARGETS trident EXPORT trident-umbrella COMPONENT dev)
  install(EXPORT trident-umbrella NAMESPACE trident:: FILE trident-umbrella-targets.cmake
          DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR} COMPONENT dev)
endif()
if(TRIDENT_LAYER_cluster)
  install(FILES ${PROJECT_SOURCE_DIR}/include/trident/cluster.hpp
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trident COMPONENT cluster)
endif()

# ---------------------------------------------------------------------------------------------
# The media layer's whisper.cpp. From tools/whisper_cache.sh (static, position-independent
# libraries in a cache outside the build tree), its libraries are installed under
# <libdir>/trident/whisper and trident-whisper.cmake gives them the imported targets
# trident::whisper, trident::ggml, ... relative to itself. A system whisper.cpp stays where it is,
# and trident-whisper.cmake finds it with find_package(whisper).
set(trident_whisper_pc_libs "")
set(trident_whisper_pc_requires "")

# Visits ITEM of whisper's link graph and, after what it links, appends it to the global
# property trident_whisper_order (so that the reversed property is a static link order).
function(__trident_whisper_visit item)
  if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
    set(item ${CMAKE_MATCH_1})
  endif()
  get_property(seen GLOBAL PROPERTY trident_whisper_seen)
  if(item IN_LIST seen OR item STREQUAL "")
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY trident_whisper_seen ${item})
  if(TARGET ${item})
    get_target_property(links ${item} INTERFACE_LINK_LIBRARIES)
    if(links)
      foreach(link IN LISTS links)
        __trident_whisper_visit("${link}")
      endforeach()
    endif()
  endif()
  set_property(GLOBAL APPEND PROPERTY trident_whisper_order ${item})
endfunction()

# The installed name of a link item of whisper's graph: a library of the cache becomes
# trident::<name>; another target keeps its name; a library path becomes its plain name, found
# on the linker's path where the package is used.
function(__trident_whisper_name item out)
  if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
    set(item ${CMAKE_MATCH_1})
  endif()
  if(TARGET ${item})
    get_target_property(location ${item} IMPORTED_LOCATION)
    string(FIND "${location}" "${TRIDENT_WHISPER_PREFIX}/" at)
    if(location AND at EQUAL 0)
      string(REGEX REPLACE "^ggml::" "" name "${item}")
      set(${out} trident::${name} PARENT_SCOPE)
    else()
      set(${out} ${item} PARENT_SCOPE)
    endif()
  elseif(IS_ABSOLUTE "${item}")
    get_filename_component(name "${item}" NAME_WE)
    string(REGEX REPLACE "^lib" "" name "${name}")
    set(${out} ${name} PARENT_SCOPE)
  else()
    set(${out} ${item} PARENT_SCOPE)
  endif()
endfunction()

if(TRIDENT_LAYER_media)
  set(whisper_file ${PROJECT_BINARY_DIR}/install/trident-whisper.cmake)
  if(TRIDENT_WHISPER_FROM_CACHE)
    set_property(GLOBAL PROPERTY trident_whisper_seen "")
    set_property(GLOBAL PROPERTY trident_whisper_order "")
    __trident_whisper_visit(whisper)
    get_property(order GLOBAL PROPERTY trident_whisper_order)
    list(REVERSE order)
    file(RELATIVE_PATH whisper_from_config /prefix/${TRIDENT_CMAKE_INSTALL_DIR} /prefix/${TRIDENT_WHISPER_INSTALL_DIR})
    set(content "# whisper.cpp and ggml, built static and position-independent by tools/whisper_cache.sh and
# installed with Trident's media layer: trident::whisper is what trident::media links.
# Written by cmake/install.cmake. Sets trident_whisper_missing to what is missing.
get_filename_component(_trident_whisper_dir \"\${CMAKE_CURRENT_LIST_DIR}/${whisper_from_config}\" ABSOLUTE)
set(trident_whisper_missing \"\")
")
    set(packages "")
    set(targets "")
    foreach(item IN LISTS order)
      if(NOT TARGET ${item})
        continue()
      endif()
      get_target_property(location ${item} IMPORTED_LOCATION)
      __trident_whisper_name(${item} name)
      if(NOT name MATCHES "^trident::")
        # A target of another package (Threads::Threads; CUDA::cudart for the CUDA variant).
        string(REGEX REPLACE "::.*" "" package "${name}")
        if(package STREQUAL "CUDA")
          set(package CUDAToolkit)
        endif()
        list(APPEND packages ${package})
        continue()
      endif()
      install(FILES ${location} DESTINATION ${TRIDENT_WHISPER_INSTALL_DIR} COMPONENT media)
      get_filename_component(file_name ${location} NAME)
      set(interface "")
      get_target_property(links ${item} INTERFACE_LINK_LIBRARIES)
      if(links)
        foreach(link IN LISTS links)
          if(NOT link STREQUAL "")
            __trident_whisper_name(${link} link_name)
            list(APPEND interface ${link_name})
          endif()
        endforeach()
      endif()
      if(name STREQUAL "trident::ggml-base")
        list(APPEND interface Threads::Threads)  # ggml's threads; its config leaves them out
      endif()
      list(REMOVE_DUPLICATES interface)
      string(APPEND targets "  add_library(${name} STATIC IMPORTED)
  set_target_properties(${name} PROPERTIES
    IMPORTED_LOCATION \"\${_trident_whisper_dir}/${file_name}\"
    IMPORTED_LINK_INTERFACE_LANGUAGES \"C;CXX\"
    INTERFACE_LINK_LIBRARIES \"${interface}\")
")
      string(REGEX REPLACE "^lib(.*)\\.a$" "-l\\1" flag "${file_name}")
      list(APPEND trident_whisper_pc_libs ${flag})
    endforeach()
    list(APPEND packages Threads)
    list(REMOVE_DUPLICATES packages)
    foreach(package IN LISTS packages)
      string(APPEND content "find_package(${package} QUIET)
if(NOT ${package}_FOUND)
  list(APPEND trident_whisper_missing ${package})
endif()
")
    endforeach()
    string(APPEND content "if(NOT trident_whisper_missing AND NOT TARGET trident::whisper)
${targets}endif()
")
    string(REPLACE ";" " " trident_whisper_pc_libs "-L\${libdir}/trident/whisper;${trident_whisper_pc_libs}")
  else()
    set(content "# whisper.cpp, installed on this system (find_package(whisper)): trident::whisper is what
# trident::media links. Written by cmake/install.cmake. Sets trident_whisper_missing.
set(trident_whisper_missing \"\")
find_package(whisper CONFIG QUIET)
if(NOT whisper_FOUND)
  set(trident_whisper_missing whisper)
elseif(NOT TARGET trident::whisper)
  add_library(trident::whisper INTERFACE IMPORTED)
  set_target_properties(trident::whisper PROPERTIES INTERFACE_LINK_LIBRARIES whisper)
endif()
")
    set(trident_whisper_pc_requires whisper)
  endif()
  file(WRITE ${whisper_file}.in "${content}")
  configure_file(${whisper_file}.in ${whisper_file} COPYONLY)
  install(FILES ${whisper_file} ${PROJECT_SOURCE_DIR}/cmake/modules/Findtrident_ffmpeg.cmake
          DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR} COMPONENT media)
endif()

# ---------------------------------------------------------------------------------------------
# The package config and its version (0.x: a minor release may change the API, so 0.2 satisfies
# only requests for 0.2, docs/versioning.md).
set(TRIDENT_CONFIG_LAYER_TABLE "")
foreach(layer IN LISTS TRIDENT_BUILT_LAYERS)
  trident_layer_debian_package(${layer} debian_package)
  string(REPLACE ";" " " debian_depends "${TRIDENT_DEBIAN_DEPENDS_${layer}}")
  string(APPEND TRIDENT_CONFIG_LAYER_TABLE
    "set(_trident_deps_${layer} \"${TRIDENT_LAYER_DEPS_${layer}}\")\n"
    "set(_trident_package_${layer} ${debian_package})\n")
endforeach()
if(TRIDENT_LAYER_aio AND trident_liburing_FOUND)
  set(TRIDENT_CONFIG_AIO_URING TRUE)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/modules/Findtrident_liburing.cmake
          DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR} COMPONENT dev)
else()
  set(TRIDENT_CONFIG_AIO_URING FALSE)
endif()
configure_package_config_file(cmake/tridentConfig.cmake.in
  ${PROJECT_BINARY_DIR}/install/tridentConfig.cmake
  INSTALL_DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/install/tridentConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/install/tridentConfig.cmake ${PROJECT_BINARY_DIR}/install/tridentConfigVersion.cmake
        DESTINATION ${TRIDENT_CMAKE_INSTALL_DIR} COMPONENT dev)

# ---------------------------------------------------------------------------------------------
# pkg-config: trident-<layer>.pc per layer and trident.pc for the umbrella, relocatable (prefix
# relative to ${pcfiledir}). A layer's .pc requires the .pc of the layers it sits on. Its
# third-party libraries: with static libraries (the default) every program that links the layer
# links them too, so they are in Requires and Libs, and a plain `pkg-config --libs` links; with
# shared libraries (BUILD_SHARED_LIBS) they are in Requires.private and Libs.private, for --static.
# cereal (proc) ships no .pc file; its headers are in /usr/include, which needs no flag.
set(trident_pc_requires_core fmt)
set(trident_pc_libs_core -pthread)
set(trident_pc_cflags_core -pthread)
if(TRIDENT_CONFIG_AIO_URING)
  set(trident_pc_requires_aio liburing)
endif()
set(trident_pc_cflags_aio -foptimize-sibling-calls)  # see trident_aio's compile options
set(trident_pc_requires_http libcurl)
set(trident_pc_requires_cluster ompi-c)
set(trident_pc_requires_media libavformat libavcodec libswresample libavutil libcrypto ${trident_whisper_pc_requires})
set(trident_pc_libs_media ${trident_whisper_pc_libs})

file(RELATIVE_PATH trident_pc_prefix /prefix/${TRIDENT_PKGCONFIG_INSTALL_DIR} /prefix)
string(REGEX REPLACE "/$" "" trident_pc_prefix "${trident_pc_prefix}")
set(TRIDENT_PC_DESCRIPTION_core "errors, shutdown modes, atomic files")
set(TRIDENT_PC_DESCRIPTION_trace "spans, Chrome trace JSON, the HTML timeline")
set(TRIDENT_PC_DESCRIPTION_sync "mutexes with lock-order checking, channels, events")
set(TRIDENT_PC_DESCRIPTION_exec "thread pool, futures")
set(TRIDENT_PC_DESCRIPTION_aio "event loop, coroutines, sockets")
set(TRIDENT_PC_DESCRIPTION_proc "processes, the process pool and its queue")
set(TRIDENT_PC_DESCRIPTION_http "HTTP sessions and fetch_all on libcurl")
set(TRIDENT_PC_DESCRIPTION_advisor "measures work under each model and recommends one")
set(TRIDENT_PC_DESCRIPTION_cluster "registered tasks on the ranks of an MPI job")
set(TRIDENT_PC_DESCRIPTION_media "FFmpeg decoding and whisper.cpp transcription")

get_target_property(trident_core_type trident_core TYPE)
foreach(layer IN LISTS TRIDENT_BUILT_LAYERS)
  set(requires)
  foreach(dep IN LISTS TRIDENT_LAYER_DEPS_${layer})
    list(APPEND requires trident-${dep})
  endforeach()
  set(requires_private)
  set(libs "-L\${libdir} -ltrident_${layer}")
  set(libs_private)
  if(trident_core_type STREQUAL "STATIC_LIBRARY")
    list(APPEND requires ${trident_pc_requires_${layer}})
    list(APPEND libs ${trident_pc_libs_${layer}})
  else()
    set(requires_private ${trident_pc_requires_${layer}})
    set(libs_private ${trident_pc_libs_${layer}})
  endif()
  string(REPLACE ";" " " TRIDENT_PC_REQUIRES "${requires}")
  string(REPLACE ";" " " TRIDENT_PC_REQUIRES_PRIVATE "${requires_private}")
  string(REPLACE ";" " " TRIDENT_PC_LIBS "${libs}")
  string(REPLACE ";" " " TRIDENT_PC_LIBS_PRIVATE "${libs_private}")
  string(REPLACE ";" " " TRIDENT_PC_CFLAGS "-I\${includedir};${trident_pc_cflags_${layer}}")
  string(STRIP "${TRIDENT_PC_CFLAGS}" TRIDENT_PC_CFLAGS)
  set(TRIDENT_PC_NAME trident-${layer})
  set(TRIDENT_PC_DESCRIPTION "Trident's ${layer} layer: ${TRIDENT_PC_DESCRIPTION_${layer}}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/trident.pc.in ${PROJECT_BINARY_DIR}/install/trident-${layer}.pc @ONLY)
  trident_layer_component(${layer} component)
  install(FILES ${PROJECT_BINARY_DIR}/install/trident-${layer}.pc
          DESTINATION ${TRIDENT_PKGCONFIG_INSTALL_DIR} COMPONENT ${component})
endforeach()
if(TARGET trident)
  set(requires)
  foreach(layer IN LISTS TRIDENT_UMBRELLA_LAYERS)
    list(APPEND requires trident-${layer})
  endforeach()
  string(REPLACE ";" " " TRIDENT_PC_REQUIRES "${requires}")
  set(TRIDENT_PC_REQUIRES_PRIVATE "")
  set(TRIDENT_PC_LIBS "")
  set(TRIDENT_PC_LIBS_PRIVATE "")
  set(TRIDENT_PC_CFLAGS "-I\${includedir}")
  set(TRIDENT_PC_NAME trident)
  set(TRIDENT_PC_DESCRIPTION "${PROJECT_DESCRIPTION}: every runtime layer (trident/trident.hpp)")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/trident.pc.in ${PROJECT_BINARY_DIR}/install/trident.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/install/trident.pc DESTINATION ${TRIDENT_PKGCONFIG_INSTALL_DIR} COMPONENT dev)
endif()
