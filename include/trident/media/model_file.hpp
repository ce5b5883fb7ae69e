#pragma once
/// @file
/// `media::inspect_model`: checks that a file is a complete ggml Whisper model, without loading
/// it, so that a pipeline can refuse a bad `--model` before it downloads anything.

#include <cstdint>
#include <filesystem>
#include <string>

namespace trident::media {

/// Whisper's hyperparameters as a ggml model file states them (whisper.cpp's `whisper_hparams`).
struct whisper_hparams {
  std::int32_t n_vocab = 0;
  std::int32_t n_audio_ctx = 0;
  std::int32_t n_audio_state = 0;
  std::int32_t n_audio_head = 0;
  std::int32_t n_audio_layer = 0;
  std::int32_t n_text_ctx = 0;
  std::int32_t n_text_state = 0;
  std::int32_t n_text_head = 0;
  std::int32_t n_text_layer = 0;
  std::int32_t n_mels = 0;
  std::int32_t ftype = 0;  ///< Weight type: 0 f32, 1 f16, others quantised (ggml_ftype).
};

/// What `inspect_model` found.
struct model_info {
  whisper_hparams hparams;
  std::string size_name;     ///< "tiny", "base", "small", "medium", "large" or "unknown".
  std::int64_t tensors = 0;  ///< Weight tensors in the file.
  std::uint64_t file_bytes = 0;
  std::string sha256;  ///< Of the whole file, lowercase hex (the model's identity in outputs).
};

/// The ggml file magic ("ggml" as a little-endian uint32).
inline constexpr std::uint32_t ggml_file_magic = 0x67676d6c;

/// Reads the header, mel filters and vocabulary of `path` and walks every tensor header,
/// checking that each tensor's data is present, that the tensor count is what the hyperparameters
/// call for, and that nothing follows the last one; then hashes the file.
///
/// Errors: throws `model_error` naming the file and the problem: missing or unreadable, not a
/// ggml model (bad magic), impossible hyperparameters, truncated (where it ends and what was
/// expected there), wrong tensor count. A file that passes is one whisper.cpp's loader accepts
/// as far as its layout goes.
///
/// @par Thread safety
/// Pure function of the file's content; any number of threads may call it.
/// @par Cancellation
/// Not a cancellation point; it reads the file once (about 0.1 s for a 150 MB model).
[[nodiscard]] model_info inspect_model(const std::filesystem::path& path);

}  // namespace trident::media
