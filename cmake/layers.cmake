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
