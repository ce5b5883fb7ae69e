# install_build_tree(PREFIX): `cmake --install ${BUILD_DIR}` into PREFIX, after emptying WORK_DIR.
# Shared by the install tests (run with cmake -P and -D BUILD_DIR, WORK_DIR).
function(install_build_tree prefix)
  file(REMOVE_RECURSE ${WORK_DIR})
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(rc)
    message(FATAL_ERROR "cmake --install failed: ${rc}")
  endif()
endfunction()
