# Installs the build tree into a scratch prefix, then configures, builds and runs a separate
# project that uses find_package(trident). Run by ctest with -D BUILD_DIR, SOURCE_DIR, WORK_DIR.
include(${CMAKE_CURRENT_LIST_DIR}/install_build_tree.cmake)
install_build_tree(${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/build
                        -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CXX}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer against the installed package failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
foreach(program consumer exec_only)
  execute_process(COMMAND ${WORK_DIR}/build/${program} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "the installed package's ${program} failed: ${rc}")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
