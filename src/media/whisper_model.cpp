#include "trident/media/whisper_model.hpp"

#include <whisper.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/media/audio.hpp"
#include "trident/media/errors.hpp"
#include "library_logs.hpp"

namespace trident::media {

namespace {

/// whisper.cpp and ggml write their progress and complaints to stderr; a command prints its own.
/// Their errors are kept, per thread, so that a failure can say what whisper.cpp said. Installed
/// before the first call into either library (a language check included).
thread_local std::string last_whisper_error;

void keep_errors_only(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR && text != nullptr) {
    std::string line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    last_whisper_error = std::move(line);
  }
}

std::string whisper_said() {
  return last_whisper_error.empty() ? std::string() : " (whisper.cpp: " + last_whisper_error + ")";
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void detail::quiet_library_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    whisper_log_set(keep_errors_only, nullptr);
    ggml_log_set(keep_errors_only, nullptr);
  });
}

std::string transcription::text() const {
  std::string out;
  for (const auto& s : segments) {
    std::string_view t = s.text;
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    out.append(t);
    out += '\n';
  }
  return out;
}

std::vector<segment> place_segments(std::vector<segment> raw, double clip_seconds, bool timestamps) {
  const double length = std::isfinite(clip_seconds) ? std::max(0.0, clip_seconds) : 0.0;
  auto within_clip = [&](double t) { return std::isfinite(t) ? std::clamp(t, 0.0, length) : 0.0; };
  if (!timestamps) {
    segment whole{0.0, length, {}};
    for (const auto& s : raw) {
      const bool needs_space =
          !whole.text.empty() && !s.text.empty() && whole.text.back() != ' ' && s.text.front() != ' ';
      whole.text += (needs_space ? " " : "") + s.text;
    }
    if (whole.text.find_first_not_of(' ') == std::string::npos) return {};
    return {std::move(whole)};
  }
  double previous_end = 0;
  for (auto& s : raw) {
    s.start = std::max(within_clip(s.start), previous_end);
    s.end = std::max(within_clip(s.end), s.start);
    previous_end = s.end;
  }
  return raw;
}

whisper_model::whisper_model(const std::filesystem::path& path, model_options options)
    : path_(path), info_(inspect_model(path)) {
  detail::quiet_library_logs();
  const auto start = std::chrono::steady_clock::now();
  whisper_context_params params = whisper_context_default_params();
  params.use_gpu = options.device == device_kind::cuda;
  params.gpu_device = options.gpu_device;
  params.flash_attn = options.flash_attention;
  last_whisper_error.clear();
  context_ = whisper_init_from_file_with_params_no_state(path.c_str(), params);
  if (context_ == nullptr)
    throw model_error("model " + path.string() + ": whisper.cpp could not load it" + whisper_said());
  load_seconds_ = since(start);
}

whisper_model::~whisper_model() { whisper_free(context_); }

whisper_model::state whisper_model::new_state() const {
  last_whisper_error.clear();
  whisper_state* s = whisper_init_state(context_);
  if (s == nullptr)
    throw model_error("model " + path_.string() + ": cannot allocate a transcription state" + whisper_said());
  return state(context_, s);
}

whisper_model::state::state(state&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)), state_(std::exchange(other.state_, nullptr)) {}

whisper_model::state& whisper_model::state::operator=(state&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) whisper_free_state(state_);
    context_ = std::exchange(other.context_, nullptr);
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

whisper_model::state::~state() {
  if (state_ != nullptr) whisper_free_state(state_);
}

void check_language(const std::string& language) {
  detail::quiet_library_logs();
  if (language != "auto" && whisper_lang_id(language.c_str()) < 0) {
    throw std::invalid_argument("unknown language '" + language + "' (use a code such as en, de, fr, or auto)");
  }
}

transcription whisper_model::state::transcribe(std::span<const float> samples, const transcribe_options& options,
                                               const std::atomic<bool>* stop) {
  check_language(options.language);
  whisper_full_params params = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
  params.n_threads = options.threads;
  params.language = options.language.c_str();
  params.detect_language = false;
  params.print_progress = false;
  params.print_realtime = false;
  params.print_special = false;
  params.print_timestamps = false;
  params.max_tokens = options.max_tokens;
  params.no_timestamps = !options.timestamps;
  if (!options.temperature_fallback) params.temperature_inc = 0.0f;
  if (stop != nullptr) {
    params.abort_callback = [](void* flag) {
      return static_cast<const std::atomic<bool>*>(flag)->load(std::memory_order_relaxed);
    };
    params.abort_callback_user_data = const_cast<std::atomic<bool>*>(stop);
  }
  if (stop != nullptr && stop->load()) throw cancelled_error("transcription stopped");
  const auto start = std::chrono::steady_clock::now();
  last_whisper_error.clear();
  const int rc = whisper_full_with_state(context_, state_, params, samples.data(), static_cast<int>(samples.size()));
  if (stop != nullptr && stop->load()) throw cancelled_error("transcription stopped");
  if (rc != 0) throw model_error("whisper.cpp failed to transcribe (code " + std::to_string(rc) + ")" + whisper_said());
  transcription out;
  out.seconds = since(start);
  const int lang = whisper_full_lang_id_from_state(state_);
  out.language = lang >= 0 ? whisper_lang_str(lang) : options.language;
  const int n = whisper_full_n_segments_from_state(state_);
  std::vector<segment> raw;
  raw.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    segment s;
    // Whisper's times are in hundredths of a second, and unchecked: see place_segments.
    s.start = static_cast<double>(whisper_full_get_segment_t0_from_state(state_, i)) / 100.0;
    s.end = static_cast<double>(whisper_full_get_segment_t1_from_state(state_, i)) / 100.0;
    s.text = whisper_full_get_segment_text_from_state(state_, i);
    raw.push_back(std::move(s));
  }
  const double clip_seconds = static_cast<double>(samples.size()) / whisper_sample_rate;
  out.segments = place_segments(std::move(raw), clip_seconds, options.timestamps);
  return out;
}

}  // namespace trident::media
