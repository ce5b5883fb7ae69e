# Findtrident_liburing: liburing (the io_uring library) as the imported target trident::liburing.
#
# Trident's build uses it for the aio layer's io_uring backend, and the installed package config
# uses the same module (installed beside it) to recreate the target where the package is used: no
# exported file names the library by an absolute path, so an installed Trident can be moved or
# unpacked into another root. pkg-config (Debian: liburing-dev ships liburing.pc) only gives hints;
# it is not needed.
#
# Sets trident_liburing_FOUND, trident_liburing_VERSION (when pkg-config knows it) and the cache
# entries trident_liburing_INCLUDE_DIR and trident_liburing_LIBRARY.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(_trident_liburing_pc QUIET liburing)
endif()
find_path(trident_liburing_INCLUDE_DIR liburing.h HINTS ${_trident_liburing_pc_INCLUDE_DIRS})
find_library(trident_liburing_LIBRARY NAMES uring HINTS ${_trident_liburing_pc_LIBRARY_DIRS})
mark_as_advanced(trident_liburing_INCLUDE_DIR trident_liburing_LIBRARY)
if(_trident_liburing_pc_VERSION)
  set(trident_liburing_VERSION ${_trident_liburing_pc_VERSION})
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(trident_liburing
  REQUIRED_VARS trident_liburing_LIBRARY trident_liburing_INCLUDE_DIR
  VERSION_VAR trident_liburing_VERSION)

if(trident_liburing_FOUND AND NOT TARGET trident::liburing)
  add_library(trident::liburing UNKNOWN IMPORTED)
  set_target_properties(trident::liburing PROPERTIES
    IMPORTED_LOCATION "${trident_liburing_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${trident_liburing_INCLUDE_DIR}")
endif()
