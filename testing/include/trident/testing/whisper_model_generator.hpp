#pragma once
/// @file
/// `testing::write_generated_whisper_model`: a ggml Whisper model file with the real dimensions of a
/// published model size and seeded random weights, for tests, benchmarks and the tour where no
/// real weights can be downloaded. Test support, not part of the media API. whisper.cpp loads and runs it exactly like a trained model of that
/// size — the cost of every step is real — but the text it produces is meaningless.

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "trident/media/model_file.hpp"
#include "trident/media/whisper_model.hpp"

namespace trident::testing {

/// The published dimensions (multilingual vocabulary of 51865 tokens, 80 mel bands) of the
/// sizes `"tiny"` (4+4 layers, width 384) and `"base"` (6+6 layers, width 512). Throws
/// `std::invalid_argument` for other names.
[[nodiscard]] media::whisper_hparams published_whisper_hparams(std::string_view size);

/// Writes a model of `size` to `path` atomically (trident::atomic_file; an existing file is
/// replaced): the file magic, hyperparameters, a real Slaney mel filter bank, a byte-level
/// vocabulary (" " and every single byte are tokens, then pseudo-words) and every tensor
/// whisper.cpp's loader expects, by name and shape, f16 for the large matrices and f32 for
/// biases, norms and positional embeddings (sinusoidal, as trained models have). The weights are
/// normally distributed with small spread from a generator seeded with `seed`: the same seed
/// gives the same file, byte for byte. One thing is not random: the decoder's final norm bias
/// points along the end-of-text token's embedding, so greedy decoding ends after a token or two,
/// as a trained model's does on a short clip; every file costs the same decoding work, whatever
/// tool runs it (whisper-cli has no token budget).
///
/// Throws `std::system_error` when the file cannot be written (nothing is left behind).
/// @par Thread safety
/// Any number of threads may write different files.
void write_generated_whisper_model(const std::filesystem::path& path, std::string_view size, std::uint64_t seed);

/// The transcription options under which every clip costs a generated model the same work, so
/// that timings compare (the media benchmarks, tools/gpu_check): English given, greedy decoding
/// once (no temperature fallback), no timestamps (a generated model's timestamp tokens are noise
/// that would make whisper.cpp decode a window again), `threads` compute threads.
[[nodiscard]] inline media::transcribe_options generated_model_work(int threads) {
  media::transcribe_options o;
  o.language = "en";
  o.threads = threads;
  o.temperature_fallback = false;
  o.timestamps = false;
  return o;
}

}  // namespace trident::testing
