# Programs that misuse process_pool::submit must fail to compile with a short, clear message.
# Included from tests/CMakeLists.txt.
set(_trident_cf_dir ${CMAKE_CURRENT_LIST_DIR})
set(_trident_cf_includes "$<JOIN:$<TARGET_PROPERTY:trident_proc,INTERFACE_INCLUDE_DIRECTORIES>,|>")
set(_trident_cf_defines "$<JOIN:$<TARGET_PROPERTY:trident_proc,INTERFACE_COMPILE_DEFINITIONS>,|>")
function(trident_proc_compile_test name source)
  add_test(NAME unit.proc.compile.${name}
           COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} "-DINCLUDES=${_trident_cf_includes}"
                   "-DDEFINES=${_trident_cf_defines}" -DSOURCE=${_trident_cf_dir}/${source} ${ARGN}
                   -P ${_trident_cf_dir}/expect_compile_error.cmake)
  set_tests_properties(unit.proc.compile.${name} PROPERTIES TIMEOUT 120 LABELS "compile")
endfunction()
trident_proc_compile_test(registered_function_compiles submit_registered_function.cpp)
trident_proc_compile_test(lambda_is_rejected_with_a_clear_message submit_lambda.cpp
                          "-DEXPECT_ERROR=registered with TRIDENT_TASK.*lambda.*cannot cross a process boundary"
                          -DMAX_LINES=30)
trident_proc_compile_test(wrong_argument_count_is_rejected_with_a_clear_message submit_wrong_argument_count.cpp
                          "-DEXPECT_ERROR=number of arguments differs from the task's parameters" -DMAX_LINES=30)
trident_proc_compile_test(wrong_argument_type_is_rejected_with_a_clear_message submit_wrong_argument_type.cpp
                          "-DEXPECT_ERROR=argument cannot be converted to the task's parameter type" -DMAX_LINES=30)
