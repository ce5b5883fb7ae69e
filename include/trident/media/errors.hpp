#pragma once
/// @file
/// The media layer's errors: one type per thing that can be wrong, each with a message that
/// names the file and says what is wrong with it.

#include <stdexcept>

#include "trident/core/errors.hpp"

namespace trident::media {

/// A media file cannot be decoded: missing or unreadable, no audio stream, truncated or corrupt,
/// or a codec FFmpeg's libraries cannot decode. Per file: a pipeline reports it and goes on.
class decode_error : public trident::error {
 public:
  using trident::error::error;
};

/// A model file is missing, truncated, or not a ggml Whisper model; or whisper.cpp refused it.
class model_error : public trident::error {
 public:
  using trident::error::error;
};

/// The device asked for cannot be used (`cuda` in a build without CUDA, or with no GPU present).
class device_error : public trident::error {
 public:
  using trident::error::error;
};

}  // namespace trident::media
