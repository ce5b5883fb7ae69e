# What each layer needs beyond the layers below it, and the Debian packages that provide it: the
# one table behind the configure messages (cmake/layers.cmake, trident_choose_layers), the
# installed package config's messages (cmake/tridentConfig.cmake.in) and the Debian packages'
# Depends (cmake/packaging.cmake). docs/packaging.md shows it as a table.
#
#   core     Threads, fmt                         libfmt-dev
#   aio      liburing (optional: else epoll only)  liburing-dev
#   proc     cereal (public: the codec's headers)  libcereal-dev
#   http     libcurl                               libcurl4-openssl-dev
#   cluster  MPI                                   libopenmpi-dev, openmpi-bin
#   media    FFmpeg's libraries, OpenSSL, whisper.cpp (tools/whisper_cache.sh, with npm)
#            libavformat-dev libavcodec-dev libswresample-dev libavutil-dev libssl-dev
#            nlohmann-json3-dev (build only) npm (build only)
# trace, sync, exec and advisor need nothing beyond the layers they sit on.

# Debian packages a program needs to build against a layer (what the layer's static library
# calls, or its headers include); the packages' Depends and the config's messages use them.
set(TRIDENT_DEBIAN_DEPENDS_core libfmt-dev)
set(TRIDENT_DEBIAN_DEPENDS_aio liburing-dev)
set(TRIDENT_DEBIAN_DEPENDS_proc libcereal-dev)
set(TRIDENT_DEBIAN_DEPENDS_http "libcurl4-openssl-dev | libcurl-dev")
set(TRIDENT_DEBIAN_DEPENDS_cluster libopenmpi-dev)
set(TRIDENT_DEBIAN_DEPENDS_media libavformat-dev libavcodec-dev libswresample-dev libavutil-dev libssl-dev)

# The Debian package of Trident itself that holds a layer (cmake/packaging.cmake makes them).
function(trident_layer_debian_package layer out)
  if(layer STREQUAL "cluster")
    set(${out} libtrident-cluster-dev PARENT_SCOPE)
  elseif(layer STREQUAL "media")
    set(${out} libtrident-media-dev PARENT_SCOPE)
  else()
    set(${out} libtrident-dev PARENT_SCOPE)
  endif()
endfunction()

# trident_probe_layer(LAYER MISSING_VAR PACKAGES_VAR [DOWNLOAD_VAR])
#
# Looks (quietly) for what LAYER needs beyond its layers. MISSING_VAR gets what is missing, one
# entry each ("libcurl (CURL)"), PACKAGES_VAR the Debian packages that provide it; both are
# empty when everything is there. DOWNLOAD_VAR (media) is set TRUE when whisper.cpp is not
# installed and would be obtained and built by tools/whisper_cache.sh. The imported targets found
# stay for the build; the layer's block in CMakeLists.txt finds them again with REQUIRED.
function(trident_probe_layer layer missing_var packages_var)
  set(missing)
  set(packages)
  set(download FALSE)
  if(layer STREQUAL "core")
    find_package(Threads QUIET)
    if(NOT Threads_FOUND)
      list(APPEND missing "a thread library (Threads)")
      list(APPEND packages libc6-dev)
    endif()
    find_package(fmt QUIET)
    if(NOT fmt_FOUND)
      list(APPEND missing "fmt")
      list(APPEND packages libfmt-dev)
    endif()
  elseif(layer STREQUAL "proc")
    find_package(cereal QUIET)
    if(NOT cereal_FOUND)
      list(APPEND missing "cereal")
      list(APPEND packages libcereal-dev)
    endif()
  elseif(layer STREQUAL "http")
    find_package(CURL QUIET)
    if(NOT CURL_FOUND)
      list(APPEND missing "libcurl (CURL)")
      list(APPEND packages libcurl4-openssl-dev)
    endif()
  elseif(layer STREQUAL "cluster")
    set(MPI_CXX_SKIP_MPICXX ON)
    find_package(MPI COMPONENTS CXX QUIET)
    if(NOT MPI_CXX_FOUND)
      list(APPEND missing "MPI (C++)")
      list(APPEND packages libopenmpi-dev openmpi-bin)
    endif()
  elseif(layer STREQUAL "media")
    find_package(trident_ffmpeg QUIET)  # cmake/modules/Findtrident_ffmpeg.cmake
    if(NOT trident_ffmpeg_FOUND)
      list(APPEND missing "FFmpeg's libavformat, libavcodec, libswresample, libavutil")
      list(APPEND packages libavformat-dev libavcodec-dev libswresample-dev libavutil-dev)
    endif()
    find_package(OpenSSL QUIET)
    if(NOT OpenSSL_FOUND)
      list(APPEND missing "OpenSSL")
      list(APPEND packages libssl-dev)
    endif()
    find_package(nlohmann_json QUIET)
    if(NOT nlohmann_json_FOUND)
      list(APPEND missing "nlohmann_json")
      list(APPEND packages nlohmann-json3-dev)
    endif()
    # whisper.cpp: installed (find_package(whisper)), or obtained by tools/whisper_cache.sh.
    if(NOT TRIDENT_MEDIA_CUDA AND NOT TRIDENT_WHISPER_FROM_CACHE)
      find_package(whisper CONFIG QUIET)
    endif()
    if(NOT whisper_FOUND)
      set(download TRUE)
      foreach(tool npm node)
        find_program(TRIDENT_${tool}_PROGRAM ${tool})
        if(NOT TRIDENT_${tool}_PROGRAM)
          list(APPEND missing "${tool}, to obtain whisper.cpp (tools/whisper_cache.sh)")
          list(APPEND packages npm)
        endif()
      endforeach()
      list(REMOVE_DUPLICATES packages)
    endif()
  endif()
  set(${missing_var} "${missing}" PARENT_SCOPE)
  set(${packages_var} "${packages}" PARENT_SCOPE)
  if(ARGC GREATER 3)
    set(${ARGV3} ${download} PARENT_SCOPE)
  endif()
endfunction()
