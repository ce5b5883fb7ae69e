#pragma once
/// @file
/// `media::whisper_model`: a ggml Whisper model loaded once, and `whisper_model::state`, one
/// transcription in progress on it. Several states on one model transcribe different files at
/// the same time while the weights stay in memory (or on the GPU) once.

#include <atomic>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "trident/media/device.hpp"
#include "trident/media/model_file.hpp"

struct whisper_context;
struct whisper_state;

namespace trident::media {

/// One piece of text with its place in the audio.
struct segment {
  double start = 0;  ///< Seconds from the start of the audio.
  double end = 0;
  std::string text;
};

/// What a transcription produced.
struct transcription {
  std::vector<segment> segments;
  std::string language;  ///< Detected or given ("en", ...).
  double seconds = 0;    ///< Wall time the transcription took.
  /// The segments' text joined, each on its own line, without the leading space Whisper puts
  /// before words.
  [[nodiscard]] std::string text() const;
};

/// How to transcribe.
struct transcribe_options {
  std::string language = "auto";  ///< "auto" detects it; else a code such as "en".
  int threads = 2;                ///< CPU threads of this one transcription (ggml's compute threads).
  /// Tokens per segment at most (0: no limit). With a generated model a fixed budget makes every
  /// file cost the same decoding work, so timings compare.
  int max_tokens = 0;
  /// Re-decode at higher temperatures when the output looks wrong (Whisper's default). Off:
  /// greedy decoding once, the work of every file is predictable.
  bool temperature_fallback = true;
  /// Timestamped segments (Whisper's default). Off: one segment for the whole clip, from 0 to its
  /// length.
  bool timestamps = true;
};

/// Whisper's raw segments made into ones a subtitle player can trust: every time within
/// [0, `clip_seconds`], each segment ending no earlier than it starts and starting no earlier than
/// the one before it ends. Without `timestamps` Whisper's times are not positions in the clip
/// (they can be negative, or past its end), so the text, joined, becomes one segment from 0 to
/// `clip_seconds`; no segment when there is no text. Pure function.
[[nodiscard]] std::vector<segment> place_segments(std::vector<segment> raw, double clip_seconds, bool timestamps);

/// Throws `std::invalid_argument` unless `language` is "auto" or a language Whisper knows
/// ("en", "de", ...). Pure function.
void check_language(const std::string& language);

/// Where the model runs.
struct model_options {
  device_kind device = device_kind::cpu;
  int gpu_device = 0;
  bool flash_attention = true;
};

/// A model loaded once. Create states with `new_state` (one per concurrent transcription).
///
/// @par Thread safety
/// The model is immutable once loaded: `new_state` and `info` may be called from any thread, and
/// states may be used on different threads at once. A model must outlive its states.
class whisper_model {
 public:
  /// Checks the file (`inspect_model`: throws `model_error` for a missing, truncated or
  /// wrong-format file) and loads it on `options.device`. Throws `model_error` when whisper.cpp
  /// refuses it, with its reason.
  explicit whisper_model(const std::filesystem::path& path, model_options options = {});
  ~whisper_model();
  whisper_model(const whisper_model&) = delete;
  whisper_model& operator=(const whisper_model&) = delete;

  [[nodiscard]] const model_info& info() const noexcept { return info_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] double load_seconds() const noexcept { return load_seconds_; }

  class state;
  /// A new transcription state (its own buffers and KV caches; tens of MB). Throws `model_error`.
  [[nodiscard]] state new_state() const;

 private:
  std::filesystem::path path_;
  model_info info_;
  double load_seconds_ = 0;
  whisper_context* context_ = nullptr;
};

/// One transcription at a time on a shared model.
///
/// @par Thread safety
/// One thread at a time per state; different states of one model run concurrently.
/// @par Cancellation
/// `transcribe` checks `*stop` before it starts and between decoding steps (whisper.cpp's abort
/// callback): once set, it throws `trident::cancelled_error`; the state stays usable. An encoder
/// step already running finishes first (about a second per 30 s window for base on 2 CPU cores,
/// milliseconds on a GPU).
class whisper_model::state {
 public:
  state(state&& other) noexcept;
  state& operator=(state&& other) noexcept;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state();

  /// Transcribes 16 kHz mono `samples`. Throws `model_error` when whisper.cpp fails,
  /// `std::invalid_argument` for an unknown language, `cancelled_error` when stopped.
  transcription transcribe(std::span<const float> samples, const transcribe_options& options,
                           const std::atomic<bool>* stop = nullptr);

 private:
  friend class whisper_model;
  state(whisper_context* context, whisper_state* s) noexcept : context_(context), state_(s) {}
  whisper_context* context_ = nullptr;
  whisper_state* state_ = nullptr;
};

}  // namespace trident::media
