# FetchContent of the source tree with TRIDENT_LAYERS=exec (tests/install/fetch_content): the
# project configures (its own checks: the library only, exec and what it sits on), builds and
# its thread-pool program runs. Run by ctest with -D SOURCE_DIR, WORK_DIR, CXX and, optionally,
# LAUNCHER (a compiler launcher such as ccache).
cmake_policy(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/consume.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/fetch_content -B ${WORK_DIR} -G Ninja
                        -DTRIDENT_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
                        ${launcher}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "configuring a project that takes Trident with FetchContent failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "trident: building the layers core trace exec ")
  message(FATAL_ERROR "TRIDENT_LAYERS=exec did not build exactly core, trace and exec:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "building the FetchContent project failed (${rc}):\n${out}\n${err}")
endif()
trident_run_consumer(${WORK_DIR}/exec_only)
file(REMOVE_RECURSE ${WORK_DIR})
