# The installed `trident bench` finds its comparison scripts where the install put them
# (<prefix>/share/trident/compare), relative to its own binary, with nothing of the source tree.
# Run by ctest with -D BUILD_DIR, SOURCE_DIR, WORK_DIR.
#
#   1. Install the build tree into a scratch prefix, then move the prefix elsewhere: neither the
#      source tree's path nor the install prefix's can be what the binary uses.
#   2. The binary holds no path of the source tree's compare folder.
#   3. Run `trident bench process --case pool_start --repeat 1 --json` from the moved prefix, with
#      TRIDENT_BENCH_COMPARE_DIR unset and an unrelated working directory: a `python` row proves
#      that multiprocessing_bench.py was found and ran.
#   4. The heavy commands' executables (trident-scenarios...) are installed beside `trident`,
#      which finds and runs them from the moved prefix.
# Without a Python 3 the test prints "SKIPPED:" (the test's SKIP_REGULAR_EXPRESSION).
find_program(python NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT python)
  find_program(python NAMES python3)
endif()
if(NOT python)
  message("SKIPPED: no python3, so there is no comparison script to run")
  return()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/install_build_tree.cmake)
install_build_tree(${WORK_DIR}/prefix)
file(RENAME ${WORK_DIR}/prefix ${WORK_DIR}/moved)
set(trident ${WORK_DIR}/moved/bin/trident)
if(NOT EXISTS ${WORK_DIR}/moved/share/trident/compare/process/multiprocessing_bench.py)
  message(FATAL_ERROR "the install put no compare/process/multiprocessing_bench.py under share/trident")
endif()

# The folder itself, not the sources named after it (compare_scripts.cpp is in the debug info).
string(REGEX REPLACE "([][+.*()^$?|\\])" "\\\\\\1" source_regex "${SOURCE_DIR}")
file(STRINGS ${trident} compiled_in REGEX "app/bench/compare")
foreach(s IN LISTS compiled_in)
  if(s MATCHES "${source_regex}/app/bench/compare(/|$|[^_a-z])")
    message(FATAL_ERROR "the installed binary holds a source path of the compare folder: ${s}")
  endif()
endforeach()

file(MAKE_DIRECTORY ${WORK_DIR}/elsewhere)
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=TRIDENT_BENCH_COMPARE_DIR TRIDENT_BENCH_PYTHON=${python}
                        ${trident} bench process --case pool_start --repeat 1 --json
                WORKING_DIRECTORY ${WORK_DIR}/elsewhere
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
if(rc)
  message(FATAL_ERROR "trident bench failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "\"case\":\"pool_start\",\"impl\":\"python\"")
  message(FATAL_ERROR "no python row: the installed trident did not run its comparison script\n${out}\n${err}")
endif()

# 4. The heavy commands' executables are installed beside it, and the moved `trident` finds and
#    runs them: `--help` marks none as missing, and `trident scenarios --help` is
#    trident-scenarios' own help.
foreach(tool trident-scenarios)
  if(NOT EXISTS ${WORK_DIR}/moved/bin/${tool})
    message(FATAL_ERROR "the install put no ${tool} beside trident")
  endif()
endforeach()
execute_process(COMMAND ${trident} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
if(rc OR out MATCHES "not installed")
  message(FATAL_ERROR "the installed trident misses a command's executable (${rc}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${trident} scenarios --help WORKING_DIRECTORY ${WORK_DIR}/elsewhere
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
if(rc OR NOT out MATCHES "--size")
  message(FATAL_ERROR "the installed trident did not run trident-scenarios (${rc}):\n${out}\n${err}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
