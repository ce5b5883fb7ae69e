# Installs the build tree into a scratch prefix, moves the prefix (an installed Trident must not
# depend on where it was installed), then builds and runs programs outside the Trident tree
# against it: one configure per component with find_package(trident COMPONENTS ...), and one
# program with pkg-config and plain c++. Run by ctest with -D BUILD_DIR, SOURCE_DIR, WORK_DIR,
# CXX and LAYERS (the layers built, comma-separated).
#
#   1. Every layer built is installed: its library, its targets file, its .pc file.
#   2. No installed CMake or pkg-config file names /usr/lib, /usr/include, the build or source
#      tree, the install prefix or the whisper.cpp cache.
#   3. Consumers: the umbrella (no COMPONENTS) and trident::exec alone; exec with only fmt's
#      package config to be found (CURL, cereal, MPI, OpenSSL, liburing and FFmpeg lookups
#      disabled), whose program must load at most 8 shared libraries; http; proc; media and
#      cluster when built; exec and the umbrella again with pkg-config.
cmake_policy(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/install_build_tree.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/consume.cmake)
string(REPLACE "," ";" layers "${LAYERS}")

install_build_tree(${WORK_DIR}/installed)
file(RENAME ${WORK_DIR}/installed ${WORK_DIR}/moved)
set(prefix ${WORK_DIR}/moved)
file(GLOB libdir_candidates ${prefix}/lib*/cmake/trident ${prefix}/lib*/*/cmake/trident)
list(GET libdir_candidates 0 cmake_dir)
get_filename_component(libdir ${cmake_dir}/../.. ABSOLUTE)

foreach(layer IN LISTS layers)
  foreach(file ${libdir}/libtrident_${layer}.a ${cmake_dir}/trident-${layer}-targets.cmake
               ${libdir}/pkgconfig/trident-${layer}.pc)
    if(NOT EXISTS ${file})
      message(FATAL_ERROR "the ${layer} layer was built but the install left out ${file}")
    endif()
  endforeach()
endforeach()
# Files only the Debian packages carry (cmake/packaging.cmake) stay out of a plain install.
if(EXISTS ${prefix}/share/doc/libtrident-dev/copyright)
  message(FATAL_ERROR "a plain install wrote the Debian package's share/doc/libtrident-dev/copyright")
endif()

trident_check_relocatable(${prefix} /usr/lib /usr/include ${BUILD_DIR} ${SOURCE_DIR} ${WORK_DIR}
                          /.cache/trident)

trident_consume(umbrella ${prefix} ${WORK_DIR}/umbrella)
# The exec component needs Threads and fmt only: every other package lookup is disabled.
trident_consume(exec ${prefix} ${WORK_DIR}/exec
  -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON -DCMAKE_DISABLE_FIND_PACKAGE_cereal=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_trident_liburing=ON -DCMAKE_DISABLE_FIND_PACKAGE_trident_ffmpeg=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_whisper=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON)
trident_count_shared_libraries(${WORK_DIR}/exec/exec_only 8)
trident_consume(http ${prefix} ${WORK_DIR}/http)
trident_consume(proc ${prefix} ${WORK_DIR}/proc)
foreach(layer media cluster)
  if(layer IN_LIST layers)
    trident_consume(${layer} ${prefix} ${WORK_DIR}/${layer})
  else()
    message(STATUS "the ${layer} layer is not built here: no ${layer} consumer")
  endif()
endforeach()
trident_consume_pkg_config(${libdir}/pkgconfig ${WORK_DIR}/pkg-config trident-exec exec_only.cpp)
trident_consume_pkg_config(${libdir}/pkgconfig ${WORK_DIR}/pkg-config trident main.cpp)
file(REMOVE_RECURSE ${WORK_DIR})
