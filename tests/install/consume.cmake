# Helpers of the install and package tests (run with cmake -P): build and run the consumer
# programs of tests/install/consumer against an installed Trident, with CMake or pkg-config, and
# check that the installed package names no path of this machine. Need SOURCE_DIR and CXX.

# trident_consume(KIND PREFIX_PATH BUILD_DIR [cmake arguments...]): configures the consumer project
# with -D TRIDENT_CONSUMER=KIND (tests/install/consumer/CMakeLists.txt) against PREFIX_PATH,
# builds it and runs its programs; each must exit 0. Sets TRIDENT_CONSUMER_PROGRAMS in the
# caller's scope to the programs' paths.
function(trident_consume kind prefix_path build_dir)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${build_dir} -G Ninja
                          -DCMAKE_PREFIX_PATH=${prefix_path} -DCMAKE_CXX_COMPILER=${CXX}
                          -DCMAKE_BUILD_TYPE=Release -DTRIDENT_CONSUMER=${kind} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "configuring the ${kind} consumer against ${prefix_path} failed (${rc}):\n${out}\n${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build_dir}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "building the ${kind} consumer failed (${rc}):\n${out}\n${err}")
  endif()
  set(programs_umbrella consumer exec_only)
  set(programs_exec exec_only)
  set(programs_http http_get)
  set(programs_proc proc_pool)
  set(programs_media media_decode)
  set(programs_cluster cluster_map)
  set(paths)
  foreach(program IN LISTS programs_${kind})
    trident_run_consumer(${build_dir}/${program})
    list(APPEND paths ${build_dir}/${program})
  endforeach()
  # The cluster program again as the driver of a two-rank MPI job, when mpirun is here.
  if(kind STREQUAL "cluster")
    find_program(mpirun NAMES mpirun mpiexec)
    if(mpirun)
      trident_run_consumer(${build_dir}/cluster_map LAUNCHER ${CMAKE_COMMAND} -E env OMPI_ALLOW_RUN_AS_ROOT=1
                           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 ${mpirun} -np 2)
    else()
      message(STATUS "no mpirun: the cluster consumer ran alone only")
    endif()
  endif()
  set(TRIDENT_CONSUMER_PROGRAMS ${paths} PARENT_SCOPE)
endfunction()

# trident_run_consumer(PROGRAM [LAUNCHER command...]): runs PROGRAM (after LAUNCHER), which must
# exit 0; shows its output.
function(trident_run_consumer program)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LAUNCHER")
  execute_process(COMMAND ${arg_LAUNCHER} ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 120)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${arg_LAUNCHER} ${program} failed (${rc}):\n${out}\n${err}")
  endif()
  string(STRIP "${out}" out)
  message(STATUS "${out}")
endfunction()

# trident_count_shared_libraries(PROGRAM MAX): counts the lines of `ldd PROGRAM` (the shared
# libraries it loads, the vDSO and the loader included), says it, and fails above MAX.
function(trident_count_shared_libraries program max)
  find_program(ldd ldd)
  if(NOT ldd)
    message(STATUS "no ldd: the shared libraries of ${program} are not counted")
    return()
  endif()
  execute_process(COMMAND ${ldd} ${program} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  string(STRIP "${out}" out)
  string(REPLACE "\n" ";" lines "${out}")
  list(LENGTH lines count)
  message(STATUS "ldd ${program}: ${count} shared libraries (at most ${max})\n${out}")
  if(count GREATER max)
    message(FATAL_ERROR "${program} links ${count} shared libraries, more than ${max}:\n${out}")
  endif()
endfunction()

# trident_consume_pkg_config(PC_DIR BUILD_DIR MODULE SOURCE): builds SOURCE (a file of
# tests/install/consumer) with `c++ -std=c++20 SOURCE $(pkg-config --cflags --libs MODULE)`,
# PKG_CONFIG_PATH=PC_DIR, and runs it.
function(trident_consume_pkg_config pc_dir build_dir module source)
  find_program(pkg_config NAMES pkg-config pkgconf)
  if(NOT pkg_config)
    message(FATAL_ERROR "pkg-config is not installed (apt-get install pkg-config)")
  endif()
  file(MAKE_DIRECTORY ${build_dir})
  set(program ${build_dir}/${module})
  set(command "${CXX} -std=c++20 -O1 -o ${program} ${SOURCE_DIR}/tests/install/consumer/${source} $(${pkg_config} --cflags --libs ${module})")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} sh -c "${command}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} ${pkg_config} --cflags --libs ${module}
                    OUTPUT_VARIABLE flags ERROR_VARIABLE flags)
    message(FATAL_ERROR "building with pkg-config failed (${rc}): ${command}\npkg-config: ${flags}\n${out}\n${err}")
  endif()
  message(STATUS "built with pkg-config: ${command}")
  trident_run_consumer(${program})
endfunction()

# trident_check_relocatable(DIR FORBIDDEN...): no CMake or pkg-config file under DIR holds one of
# the FORBIDDEN strings (absolute paths: /usr/lib, the build tree, the install prefix...).
function(trident_check_relocatable dir)
  file(GLOB_RECURSE files ${dir}/*.cmake ${dir}/*.pc)
  if(NOT files)
    message(FATAL_ERROR "no CMake or pkg-config file under ${dir}")
  endif()
  set(found)
  foreach(file IN LISTS files)
    file(READ ${file} text)
    foreach(forbidden IN LISTS ARGN)
      string(FIND "${text}" "${forbidden}" at)
      if(NOT at EQUAL -1)
        list(APPEND found "${file}: ${forbidden}")
      endif()
    endforeach()
  endforeach()
  if(found)
    string(REPLACE ";" "\n  " found "${found}")
    message(FATAL_ERROR "the installed package names absolute paths:\n  ${found}")
  endif()
  list(LENGTH files count)
  message(STATUS "${count} CMake and pkg-config files under ${dir} name no absolute path")
endfunction()
