#pragma once
// `trident transcribe`: flags in, media::transcribe_pipeline, progress and summary out.

#include <string>
#include <vector>

#include "command_line.hpp"

namespace trident::cli {

struct transcribe_flags {
  std::vector<std::string> sources;  // URLs and files
  std::string input;                 // list file, or "-" for stdin
  std::string output_dir;            // empty: downloads in ".", outputs next to each file
  std::string model;                 // empty: $TRIDENT_WHISPER_MODEL
  std::string device = "auto";
  std::string language = "auto";
  int jobs = 8;      // downloads in flight
  int decoders = 2;  // decoding threads
  int states = 2;    // whisper states (files transcribed at once)
  int threads = 0;   // compute threads per state (0: the cores shared among the states)
  int queue = 2;     // decoded files waiting for a state
  int retries = 2;
  int max_tokens = 0;
  bool no_fallback = false;
  bool no_timestamps = false;
  std::vector<std::string> formats;  // "srt", "vtt"
  bool skip_existing = false;
  bool json = false;
};

/// Runs the command; returns the exit code (exit_codes.hpp). Throws `usage_error` for what makes
/// it unable to start — no inputs, no or a bad model, an unusable device or output folder —
/// always before any download.
int run_transcribe(const transcribe_flags& flags);

/// `transcribe SOURCES... [-i FILE] [-o DIR] [--model FILE] ...` on `app`.
[[nodiscard]] command add_transcribe_command(CLI::App& app);

}  // namespace trident::cli
