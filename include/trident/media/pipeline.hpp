#pragma once
/// @file
/// `media::transcribe_pipeline`: download (`http::fetch_all`) → decode → transcribe → write, each
/// stage on its own workers, joined by bounded channels, so that downloads, decoding and the
/// device overlap and a slow stage holds the others back instead of letting memory grow. What
/// `trident transcribe` runs (docs/media.md).

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trident/media/whisper_model.hpp"

namespace trident::media {

/// Is `source` a URL (http:// or https://) rather than a local file?
[[nodiscard]] bool is_url(std::string_view source) noexcept;

struct pipeline_options {
  /// Where downloads are saved; also where the outputs of local files go when set. Empty: "."
  /// for downloads, and each local file's own folder for its outputs.
  std::filesystem::path output_dir;
  /// Downloads in flight at once, at most (`http::fetch_all`'s concurrency: fewer when the
  /// process cannot open enough file descriptors for them).
  std::size_t downloads = 8;
  std::size_t decoders = 2;  ///< Decoding threads.
  std::size_t states = 2;    ///< Whisper states: files transcribed at once on the one model.
  /// Decoded files waiting for a state, at most (each holds its samples: 64 kB per second of
  /// audio). Downloads and decoding wait when it is full: back-pressure.
  std::size_t queue = 2;
  int retries = 2;  ///< Extra download attempts after a retriable failure.
  transcribe_options transcribe;
  bool srt = false;  ///< Also write NAME.EXT.srt.
  bool vtt = false;  ///< Also write NAME.EXT.vtt.
  /// An input whose every output asked for (.txt and .json, and .srt / .vtt when asked) exists is
  /// neither downloaded nor transcribed.
  bool skip_existing = false;
};

/// Where one input's files go: its media file (the path given, or where a URL is saved) and the
/// name its outputs are made of: FOLDER/NAME.txt, .json, .srt and .vtt. A plain value.
struct input_plan {
  std::string source;     ///< As given.
  bool download = false;  ///< A URL, saved to `media`.
  std::filesystem::path media;
  std::filesystem::path folder;  ///< Where the outputs go.
  std::string name;              ///< The media's file name, numbered (`a-1.mp3`) when taken.
  /// FOLDER/NAME.`extension` ("txt", "json", "srt", "vtt").
  [[nodiscard]] std::filesystem::path output(std::string_view extension) const;
};

/// The files of every input, planned together: downloads go to `output_dir` ("." when empty),
/// outputs to `output_dir` or, when empty, next to each local file. No two inputs share a file
/// (download or output), and no planned file is a local input: an input whose name is taken gets
/// the first free numbered name (`a-1.mp3`, then `a-2.mp3`; a download is saved under it too).
/// Every output extension is reserved whatever the formats asked, and the plan depends on the
/// inputs and their order only (not on what exists on disk), so a rerun gets the same names and
/// `skip_existing` finds the outputs of the run before. Paths are compared once made absolute,
/// with symbolic links resolved, so `a.mp3` and `./a.mp3` are the same file.
///
/// Pure but for reading the file system to resolve paths; thread safe.
[[nodiscard]] std::vector<input_plan> plan_inputs(const std::vector<std::string>& sources,
                                                  const std::filesystem::path& output_dir);

enum class file_outcome { ok, skipped, failed, cancelled };
[[nodiscard]] const char* to_string(file_outcome o) noexcept;

/// What happened to one input. A plain value.
struct file_result {
  std::string source;           ///< As given (URL or path).
  std::filesystem::path media;  ///< The local media file (downloaded or given).
  file_outcome outcome = file_outcome::cancelled;
  std::string stage;  ///< Where it failed: "download", "decode", "transcribe", "write".
  std::string error;
  double audio_seconds = 0;
  double download_seconds = 0, decode_seconds = 0, transcribe_seconds = 0;
  std::string language;
  std::vector<std::filesystem::path> outputs;
  /// Audio seconds per second of transcription.
  [[nodiscard]] double realtime() const noexcept {
    return transcribe_seconds > 0 ? audio_seconds / transcribe_seconds : 0;
  }
  /// One JSON object (no newline).
  [[nodiscard]] std::string to_json() const;
};

/// Live counters, readable from any thread while `run` runs. `finished` counts every input done
/// in any way; `failed` and `cancelled` are the ones among them that ended so.
struct pipeline_progress {
  std::atomic<std::size_t> total{0}, downloaded{0}, decoded{0}, transcribed{0}, finished{0}, failed{0}, cancelled{0};
  std::atomic<std::uint64_t> download_bytes{0};
};

/// The pipeline. One `run` at a time.
///
/// @par Thread safety
/// `run` blocks its caller (which does the writing); `stop` and `progress` may be called from any
/// thread meanwhile (a signal thread).
/// @par Cancellation
/// `stop()` ends the run soon: downloads in flight are aborted (no file left), queued files are
/// not started, transcriptions in flight are aborted; transcripts already finished are written
/// (each atomically), nothing partial is. Their results say `cancelled`.
class transcribe_pipeline {
 public:
  transcribe_pipeline(const whisper_model& model, pipeline_options options);

  /// Runs every source, its files named by `plan_inputs`; results in input order. `on_file`
  /// (optional) is called on the calling thread as each file finishes (for `--json` lines and the
  /// progress display); it must not throw (the stages would wait for a writer that is gone).
  /// Throws `model_error` before anything starts when a whisper state cannot be allocated.
  std::vector<file_result> run(const std::vector<std::string>& sources,
                               const std::function<void(const file_result&)>& on_file = {});

  void stop() noexcept;
  [[nodiscard]] bool stopped() const noexcept { return stop_.load(); }
  [[nodiscard]] const pipeline_progress& progress() const noexcept { return progress_; }

  /// The outputs of an input: NAME.txt and .json, then .srt / .vtt when asked for.
  [[nodiscard]] std::vector<std::filesystem::path> outputs_for(const input_plan& plan) const;

 private:
  struct work;
  class stages;  // one run's stages and the channels between them (pipeline.cpp)
  void write_outputs(const work& w, const transcription& t, file_result& r) const;

  const whisper_model& model_;
  pipeline_options options_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mutex_;
  std::function<void()> cancel_downloads_;  // set while downloads run; under stop_mutex_
  pipeline_progress progress_;
};

/// Subtitle text of `t`: SubRip (`srt`) or WebVTT (`vtt`). Pure functions. Throw
/// `std::invalid_argument` for a segment with a negative time or one that ends before it starts.
[[nodiscard]] std::string to_srt(const transcription& t);
[[nodiscard]] std::string to_vtt(const transcription& t);

/// The NAME.json document of a transcript: `r`'s source, media and timings, the model, and
/// `t`'s language, segments (with times) and text; ends with a newline. Pure function. Throws
/// `std::invalid_argument` for a segment with a negative time or one that ends before it starts.
[[nodiscard]] std::string transcript_json(const transcription& t, const file_result& r,
                                          const std::filesystem::path& model_path, const model_info& model);

}  // namespace trident::media
