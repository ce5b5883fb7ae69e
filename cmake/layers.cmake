# The layers as CMake targets. Each layer `L` is the library trident_L (alias trident::L) and
# sees, at build time, only its own headers and those of the layers it links: its include
# directory holds a single link, trident/L -> include/trident/L, so an upward #include does not
# compile and an upward call does not link (the per-layer test programs link one layer alone).
# Installed, every layer uses the one include/ directory, as users expect.

set(TRIDENT_LAYER_INCLUDE_ROOT ${PROJECT_BINARY_DIR}/layer-include)

# Makes `link` a symbolic link to `target` (replacing what was there).
function(trident_link target link)
  get_filename_component(parent ${link} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(IS_SYMLINK ${link} OR EXISTS ${link})
    file(REMOVE ${link})
  endif()
  file(CREATE_LINK ${target} ${link} SYMBOLIC)
endfunction()

# trident_add_layer(NAME [DEPS LAYER...] [SOURCES FILE...])
#
# DEPS names every layer whose headers this layer includes, and nothing more: the layer graph is
# written here once. tools/check_layers.py reads these calls (CMakeLists.txt, cmake/*.cmake),
# fails on an #include of a layer missing from DEPS and on a DEPS entry that nothing includes,
# and checks the picture in docs/layers.md against them. Keep each call on lines of its own
# with literal layer names (no variables), so that the check can read it without running CMake.
# A layer without DEPS is the bottom one and links the thread library.
function(trident_add_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPS;SOURCES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "trident_add_layer(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(target trident_${name})
  set(include_dir ${TRIDENT_LAYER_INCLUDE_ROOT}/${name})
  trident_link(${PROJECT_SOURCE_DIR}/include/trident/${name} ${include_dir}/trident/${name})
  if(arg_SOURCES)
    add_library(${target} ${arg_SOURCES})
    set(scope PUBLIC)
    target_link_libraries(${target} PRIVATE fmt::fmt $<BUILD_INTERFACE:trident_project_options>)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(trident::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${include_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
  foreach(dependency IN LISTS arg_DEPS)
    if(NOT TARGET trident_${dependency})
      message(FATAL_ERROR "trident_add_layer(${name}): DEPS names '${dependency}', which is not a layer "
                          "defined before it")
    endif()
    target_link_libraries(${target} ${scope} trident_${dependency})
  endforeach()
  if(NOT arg_DEPS)
    target_link_libraries(${target} ${scope} Threads::Threads)
  endif()
  # The layers built, in order, for the per-layer tests and header checks (tests/CMakeLists.txt).
  set_property(GLOBAL APPEND PROPERTY TRIDENT_LAYERS ${name})
endfunction()

# trident_add_umbrella(LAYER...): trident::trident, every layer plus trident/trident.hpp.
function(trident_add_umbrella)
  set(include_dir ${TRIDENT_LAYER_INCLUDE_ROOT}/umbrella)
  trident_link(${PROJECT_SOURCE_DIR}/include/trident/trident.hpp ${include_dir}/trident/trident.hpp)
  add_library(trident INTERFACE)
  add_library(trident::trident ALIAS trident)
  set_target_properties(trident PROPERTIES EXPORT_NAME trident)
  target_include_directories(trident INTERFACE
    $<BUILD_INTERFACE:${include_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  foreach(layer IN LISTS ARGN)
    target_link_libraries(trident INTERFACE trident_${layer})
  endforeach()
endfunction()

# ---------------------------------------------------------------------------------------------
# Which layers to build: TRIDENT_LAYERS, closed over the layer graph.

# trident_read_layer_graph(): the layer graph as variables, read from the trident_add_layer and
# trident_add_umbrella calls themselves (CMakeLists.txt and cmake/*.cmake, comments left out),
# the same way tools/check_layers.py reads them, so that the layers to build are chosen before any
# target exists and the graph is still written once. Sets in the caller's scope:
#   TRIDENT_ALL_LAYERS          every layer, each after the layers it depends on
#   TRIDENT_LAYER_DEPS_<layer>  its DEPS
#   TRIDENT_UMBRELLA_LAYERS     the layers of trident::trident
macro(trident_read_layer_graph)
  file(GLOB _trident_graph_files ${PROJECT_SOURCE_DIR}/cmake/*.cmake)
  list(SORT _trident_graph_files)
  set(TRIDENT_ALL_LAYERS)
  set(TRIDENT_UMBRELLA_LAYERS)
  foreach(_trident_file IN ITEMS ${PROJECT_SOURCE_DIR}/CMakeLists.txt ${_trident_graph_files})
    file(READ ${_trident_file} _trident_text)
    string(REPLACE ";" " " _trident_text "\n${_trident_text}")
    string(REGEX REPLACE "#[^\n]*" "" _trident_text "${_trident_text}")
    string(REGEX MATCHALL "\n[ \t]*trident_add_(layer|umbrella)\\([^)]*\\)" _trident_calls "${_trident_text}")
    foreach(_trident_call IN LISTS _trident_calls)
      string(REGEX REPLACE "^\n[ \t]*trident_add_(layer|umbrella)\\(([^)]*)\\)$" "\\1;\\2" _trident_call "${_trident_call}")
      list(GET _trident_call 0 _trident_kind)
      list(GET _trident_call 1 _trident_words)
      string(STRIP "${_trident_words}" _trident_words)
      string(REGEX REPLACE "[ \t\r\n]+" ";" _trident_words "${_trident_words}")
      if(_trident_kind STREQUAL "umbrella")
        set(TRIDENT_UMBRELLA_LAYERS ${_trident_words})
        continue()
      endif()
      list(POP_FRONT _trident_words _trident_layer)
      set(TRIDENT_LAYER_DEPS_${_trident_layer})
      set(_trident_section "")
      foreach(_trident_word IN LISTS _trident_words)
        if(_trident_word STREQUAL "DEPS" OR _trident_word STREQUAL "SOURCES")
          set(_trident_section ${_trident_word})
        elseif(_trident_section STREQUAL "DEPS")
          list(APPEND TRIDENT_LAYER_DEPS_${_trident_layer} ${_trident_word})
        endif()
      endforeach()
      list(APPEND TRIDENT_ALL_LAYERS ${_trident_layer})
    endforeach()
  endforeach()
endmacro()

# trident_choose_layers(): decides which layers this build makes, from
#   TRIDENT_LAYERS       the layers asked for (empty: every layer whose dependencies are found),
#   TRIDENT_WITH_MPI     ON adds cluster, OFF leaves it out of the default, AUTO (the default)
#   TRIDENT_WITH_MEDIA   the same for media,
#   TRIDENT_BUILD_*      the tests, examples, command and benchmarks need trident::trident's layers,
# plus every layer these depend on. A layer asked for (or needed) whose dependencies are missing
# stops the configure, naming the layer and the Debian packages to install; a layer only taken by
# default is left out with a message saying why. Sets TRIDENT_BUILT_LAYERS (in graph order),
# TRIDENT_LAYER_<layer> (ON or OFF) for every layer, and the graph (trident_read_layer_graph).
macro(trident_choose_layers)
  trident_read_layer_graph()
  __trident_choose_layers()
  foreach(_trident_layer IN LISTS TRIDENT_ALL_LAYERS)
    if(_trident_layer IN_LIST TRIDENT_BUILT_LAYERS)
      set(TRIDENT_LAYER_${_trident_layer} ON)
    else()
      set(TRIDENT_LAYER_${_trident_layer} OFF)
    endif()
  endforeach()
endmacro()

function(__trident_choose_layers)
  foreach(layer IN LISTS TRIDENT_LAYERS)
    if(NOT layer IN_LIST TRIDENT_ALL_LAYERS)
      string(REPLACE ";" " " all "${TRIDENT_ALL_LAYERS}")
      message(FATAL_ERROR "TRIDENT_LAYERS names '${layer}', which is not a layer of Trident (layers: ${all})")
    endif()
  endforeach()

  # What is asked for, and why (for the messages).
  set(asked ${TRIDENT_LAYERS} core)
  foreach(layer IN LISTS TRIDENT_LAYERS)
    set(why_${layer} "asked for in TRIDENT_LAYERS")
  endforeach()
  if(NOT DEFINED why_core)
    set(why_core "every layer sits on it")
  endif()
  if(TRIDENT_BUILD_TESTS OR TRIDENT_BUILD_EXAMPLES OR TRIDENT_BUILD_CLI OR TRIDENT_BUILD_BENCHMARKS)
    set(added)
    foreach(layer IN LISTS TRIDENT_UMBRELLA_LAYERS)
      if(NOT layer IN_LIST asked)
        list(APPEND asked ${layer})
        list(APPEND added ${layer})
        set(why_${layer} "needed by the tests, examples, command or benchmarks (TRIDENT_BUILD_*)")
      endif()
    endforeach()
    if(TRIDENT_LAYERS AND added)
      string(REPLACE ";" " " added "${added}")
      message(STATUS "trident: the tests, examples, command and benchmarks need trident::trident, so the layers "
                     "${added} are built too (turn TRIDENT_BUILD_TESTS, _EXAMPLES, _CLI and _BENCHMARKS OFF "
                     "to build only what TRIDENT_LAYERS names)")
    endif()
  endif()
  # TRIDENT_WITH_MPI and TRIDENT_WITH_MEDIA, the older switches, map onto the list.
  set(left_out)
  foreach(pair "MPI;cluster" "MEDIA;media")
    list(GET pair 0 switch)
    list(GET pair 1 layer)
    set(value "${TRIDENT_WITH_${switch}}")
    if(value STREQUAL "" OR value STREQUAL "AUTO")
      continue()
    elseif(value)
      if(NOT layer IN_LIST asked)
        list(APPEND asked ${layer})
        set(why_${layer} "TRIDENT_WITH_${switch} is ON")
      endif()
    else()
      list(APPEND left_out ${layer})
    endif()
  endforeach()

  # Close over the graph: walking it from the top, each needed layer needs its DEPS.
  set(needed ${asked})
  set(reversed ${TRIDENT_ALL_LAYERS})
  list(REVERSE reversed)
  foreach(layer IN LISTS reversed)
    if(layer IN_LIST needed)
      foreach(dep IN LISTS TRIDENT_LAYER_DEPS_${layer})
        if(NOT dep IN_LIST needed)
          list(APPEND needed ${dep})
          set(why_${dep} "needed by ${layer}")
        endif()
      endforeach()
    endif()
  endforeach()

  set(built)
  set(failures)
  foreach(layer IN LISTS TRIDENT_ALL_LAYERS)
    if(layer IN_LIST needed)
      trident_probe_layer(${layer} missing packages)
      if(missing)
        string(REPLACE ";" ", " missing "${missing}")
        list(REMOVE_DUPLICATES packages)
        string(REPLACE ";" " " packages "${packages}")
        list(APPEND failures "  layer ${layer} (${why_${layer}}) needs ${missing}: apt-get install ${packages}")
      else()
        list(APPEND built ${layer})
      endif()
    elseif(NOT TRIDENT_LAYERS AND NOT layer IN_LIST left_out)
      # Taken by default when its layers and its own dependencies are there.
      set(absent)
      foreach(dep IN LISTS TRIDENT_LAYER_DEPS_${layer})
        if(NOT dep IN_LIST built)
          list(APPEND absent ${dep})
        endif()
      endforeach()
      if(absent)
        string(REPLACE ";" " " absent "${absent}")
        message(STATUS "trident: layer ${layer} not built: it sits on ${absent}, not built")
        continue()
      endif()
      trident_probe_layer(${layer} missing packages download)
      if(missing)
        string(REPLACE ";" ", " missing "${missing}")
        list(REMOVE_DUPLICATES packages)
        string(REPLACE ";" " " packages "${packages}")
        message(STATUS "trident: layer ${layer} not built: it needs ${missing} (apt-get install ${packages}; "
                       "or see tools/dev.sh)")
      elseif(download AND NOT PROJECT_IS_TOP_LEVEL)
        message(STATUS "trident: layer ${layer} not built by default inside another project: whisper.cpp is "
                       "not installed, and obtaining it builds it (minutes); add ${layer} to TRIDENT_LAYERS to build it")
      else()
        list(APPEND built ${layer})
      endif()
    endif()
  endforeach()
  if(failures)
    string(REPLACE ";" "\n" failures "${failures}")
    message(FATAL_ERROR "trident: cannot build the layers asked for:\n${failures}\n"
                        "(TRIDENT_LAYERS chooses the layers; tools/dev.sh installs every package)")
  endif()
  string(REPLACE ";" " " shown "${built}")
  if(TRIDENT_LAYERS)
    message(STATUS "trident: building the layers ${shown} (TRIDENT_LAYERS=${TRIDENT_LAYERS} and what they need)")
  else()
    message(STATUS "trident: building the layers ${shown} (every layer whose dependencies are found; "
                   "TRIDENT_LAYERS chooses)")
  endif()
  set(TRIDENT_BUILT_LAYERS ${built} PARENT_SCOPE)
endfunction()
