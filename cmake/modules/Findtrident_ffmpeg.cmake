# Findtrident_ffmpeg: the FFmpeg libraries the media layer decodes with (libavformat, libavcodec,
# libswresample, libavutil) as one imported target, trident::ffmpeg.
#
# Trident's build uses it, and the installed package config uses the same module (installed
# beside it) to recreate the target where the package is used, so that no exported file names a
# library by an absolute path. pkg-config (Debian's libav*-dev ship .pc files) only gives hints.
#
# Sets trident_ffmpeg_FOUND, trident_ffmpeg_LIBRARIES, trident_ffmpeg_INCLUDE_DIRS and
# trident_ffmpeg_VERSION (libavformat's version, when pkg-config knows it).
set(_trident_ffmpeg_libraries avformat avcodec swresample avutil)
find_package(PkgConfig QUIET)
set(trident_ffmpeg_LIBRARIES)
set(trident_ffmpeg_INCLUDE_DIRS)
set(_trident_ffmpeg_required_vars)
foreach(_trident_ffmpeg_lib IN LISTS _trident_ffmpeg_libraries)
  if(PkgConfig_FOUND)
    pkg_check_modules(_trident_ffmpeg_${_trident_ffmpeg_lib} QUIET lib${_trident_ffmpeg_lib})
  endif()
  find_path(trident_ffmpeg_${_trident_ffmpeg_lib}_INCLUDE_DIR lib${_trident_ffmpeg_lib}/${_trident_ffmpeg_lib}.h
            HINTS ${_trident_ffmpeg_${_trident_ffmpeg_lib}_INCLUDE_DIRS})
  find_library(trident_ffmpeg_${_trident_ffmpeg_lib}_LIBRARY NAMES ${_trident_ffmpeg_lib}
               HINTS ${_trident_ffmpeg_${_trident_ffmpeg_lib}_LIBRARY_DIRS})
  mark_as_advanced(trident_ffmpeg_${_trident_ffmpeg_lib}_INCLUDE_DIR trident_ffmpeg_${_trident_ffmpeg_lib}_LIBRARY)
  list(APPEND _trident_ffmpeg_required_vars trident_ffmpeg_${_trident_ffmpeg_lib}_LIBRARY
                                            trident_ffmpeg_${_trident_ffmpeg_lib}_INCLUDE_DIR)
  list(APPEND trident_ffmpeg_LIBRARIES ${trident_ffmpeg_${_trident_ffmpeg_lib}_LIBRARY})
  list(APPEND trident_ffmpeg_INCLUDE_DIRS ${trident_ffmpeg_${_trident_ffmpeg_lib}_INCLUDE_DIR})
endforeach()
list(REMOVE_DUPLICATES trident_ffmpeg_INCLUDE_DIRS)
if(_trident_ffmpeg_avformat_VERSION)
  set(trident_ffmpeg_VERSION ${_trident_ffmpeg_avformat_VERSION})
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(trident_ffmpeg
  REQUIRED_VARS ${_trident_ffmpeg_required_vars}
  VERSION_VAR trident_ffmpeg_VERSION)

if(trident_ffmpeg_FOUND AND NOT TARGET trident::ffmpeg)
  add_library(trident::ffmpeg INTERFACE IMPORTED)
  set_target_properties(trident::ffmpeg PROPERTIES
    INTERFACE_LINK_LIBRARIES "${trident_ffmpeg_LIBRARIES}"
    INTERFACE_INCLUDE_DIRECTORIES "${trident_ffmpeg_INCLUDE_DIRS}")
endif()
