#include "trident/media/pipeline.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "trident/aio/channel_ends.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/http/fetch.hpp"
#include "trident/http/file_names.hpp"
#include "trident/http/session.hpp"
#include "trident/media/audio.hpp"
#include "trident/media/errors.hpp"
#include "trident/sync/channel.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::media {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Closes `ch` when the last of its producers says it is done.
template <class Channel>
class producers {
 public:
  producers(Channel& ch, int count) : channel_(ch), left_(count) {}
  void done() {
    if (left_.fetch_sub(1) == 1) channel_.close();
  }

 private:
  Channel& channel_;
  std::atomic<int> left_;
};

std::string timestamp(double seconds, char fraction_separator) {
  const auto ms = static_cast<long long>(std::llround(seconds * 1000));
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld%c%03lld", ms / 3'600'000, ms / 60'000 % 60, ms / 1000 % 60,
                fraction_separator, ms % 1000);
  return text;
}

std::string trimmed(const std::string& s) {
  std::string_view t = s;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return std::string(t);
}

void write_text_file(const fs::path& path, const std::string& text) {
  atomic_file file(path, {.if_exists = atomic_file::existing::replace});
  file.write(text);
  file.commit();
}

}  // namespace

bool is_url(std::string_view source) noexcept {
  return source.starts_with("http://") || source.starts_with("https://");
}

fs::path input_plan::output(std::string_view extension) const { return folder / (name + "." + std::string(extension)); }

namespace {

/// The file `p` names, absolute and with symbolic links resolved as far as they exist: the
/// same string for every way of writing one path.
std::string file_key(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) absolute = p;
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  return (ec ? absolute.lexically_normal() : resolved).string();
}

constexpr std::string_view output_extensions[] = {"txt", "json", "srt", "vtt"};

}  // namespace

std::vector<input_plan> plan_inputs(const std::vector<std::string>& sources, const fs::path& output_dir) {
  const fs::path download_dir = output_dir.empty() ? fs::path(".") : output_dir;
  // Files no input may write: every local input, then each planned file as it is planned.
  std::set<std::string> taken;
  for (const auto& s : sources) {
    if (!is_url(s)) taken.insert(file_key(s));
  }
  std::vector<input_plan> plans;
  plans.reserve(sources.size());
  for (const auto& s : sources) {
    input_plan p;
    p.source = s;
    p.download = is_url(s);
    std::string base;
    if (p.download) {
      p.folder = download_dir;
      base = http::file_name_for(s);
    } else {
      p.media = s;
      p.folder = !output_dir.empty() ? output_dir : p.media.parent_path();
      if (p.folder.empty()) p.folder = ".";
      base = p.media.filename().string();
      if (base.empty()) base = http::sanitize_file_name("");  // "dir/": fails to decode, names nothing real
    }
    std::vector<std::string> keys;
    for (std::size_t n = 0;; ++n) {
      p.name = http::numbered_file_name(base, n);
      keys.clear();
      if (p.download) keys.push_back(file_key(p.folder / p.name));
      for (const auto ext : output_extensions) keys.push_back(file_key(p.output(ext)));
      if (std::none_of(keys.begin(), keys.end(), [&](const std::string& k) { return taken.contains(k); })) break;
    }
    taken.insert(keys.begin(), keys.end());
    if (p.download) p.media = p.folder / p.name;
    plans.push_back(std::move(p));
  }
  return plans;
}

const char* to_string(file_outcome o) noexcept {
  switch (o) {
    case file_outcome::ok:
      return "ok";
    case file_outcome::skipped:
      return "skipped";
    case file_outcome::failed:
      return "failed";
    case file_outcome::cancelled:
      return "cancelled";
  }
  return "?";
}

std::string file_result::to_json() const {
  nlohmann::json j;
  j["source"] = source;
  j["media"] = media.string();
  j["result"] = to_string(outcome);
  if (!error.empty()) {
    j["stage"] = stage;
    j["error"] = error;
  }
  j["audio_seconds"] = audio_seconds;
  j["download_seconds"] = download_seconds;
  j["decode_seconds"] = decode_seconds;
  j["transcribe_seconds"] = transcribe_seconds;
  j["realtime"] = realtime();
  if (!language.empty()) j["language"] = language;
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : outputs) j["outputs"].push_back(o.string());
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void check_segment_times(const transcription& t, std::string_view format) {
  for (std::size_t i = 0; i < t.segments.size(); ++i) {
    const segment& s = t.segments[i];
    if (!(s.start >= 0) || !(s.end >= s.start) || !std::isfinite(s.end)) {
      throw std::invalid_argument(
          fmt::format("{}: segment {} has impossible times ({} s to {} s): times must be "
                      "at least 0 and end after they start",
                      format, i + 1, s.start, s.end));
    }
  }
}

std::string to_srt(const transcription& t) {
  check_segment_times(t, "srt");
  std::string out;
  int n = 0;
  for (const auto& s : t.segments) {
    out += std::to_string(++n) + "\n" + timestamp(s.start, ',') + " --> " + timestamp(s.end, ',') + "\n" +
           trimmed(s.text) + "\n\n";
  }
  return out;
}

std::string to_vtt(const transcription& t) {
  check_segment_times(t, "vtt");
  std::string out = "WEBVTT\n\n";
  for (const auto& s : t.segments) {
    out += timestamp(s.start, '.') + " --> " + timestamp(s.end, '.') + "\n" + trimmed(s.text) + "\n\n";
  }
  return out;
}

/// One input on its way through the stages.
struct transcribe_pipeline::work {
  std::size_t index = 0;
  const input_plan* plan = nullptr;  // its files
  decoded_audio audio;
  transcription text;
  file_result result;
};

transcribe_pipeline::transcribe_pipeline(const whisper_model& model, pipeline_options options)
    : model_(model), options_(std::move(options)) {
  check_language(options_.transcribe.language);
  for (std::size_t* n : {&options_.downloads, &options_.decoders, &options_.states, &options_.queue}) {
    if (*n == 0) throw std::invalid_argument("pipeline: downloads, decoders, states and queue must be at least 1");
  }
}

std::vector<fs::path> transcribe_pipeline::outputs_for(const input_plan& plan) const {
  std::vector<fs::path> out{plan.output("txt"), plan.output("json")};
  if (options_.srt) out.push_back(plan.output("srt"));
  if (options_.vtt) out.push_back(plan.output("vtt"));
  return out;
}

void transcribe_pipeline::stop() noexcept {
  stop_.store(true);
  std::lock_guard lock(stop_mutex_);
  if (cancel_downloads_) cancel_downloads_();
}

std::string transcript_json(const transcription& t, const file_result& r, const std::filesystem::path& model_path,
                            const model_info& model) {
  check_segment_times(t, "json");
  nlohmann::json j;
  j["source"] = r.source;
  j["media"] = r.media.string();
  j["model"] = {{"path", model_path.string()}, {"sha256", model.sha256}, {"size", model.size_name}};
  j["language"] = t.language;
  j["audio_seconds"] = r.audio_seconds;
  j["timings"] = {{"download_seconds", r.download_seconds},
                  {"decode_seconds", r.decode_seconds},
                  {"transcribe_seconds", r.transcribe_seconds},
                  {"realtime", r.realtime()}};
  j["segments"] = nlohmann::json::array();
  for (const auto& s : t.segments)
    j["segments"].push_back({{"start", s.start}, {"end", s.end}, {"text", trimmed(s.text)}});
  j["text"] = t.text();
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void transcribe_pipeline::write_outputs(const work& w, const transcription& t, file_result& r) const {
  const auto paths = outputs_for(*w.plan);
  // Every text is made before the first file is written: a refusal (impossible times) leaves
  // none. The JSON file last: its presence says the transcript is complete.
  const std::string json = transcript_json(t, r, model_.path(), model_.info());
  const std::string srt = options_.srt ? to_srt(t) : std::string();
  const std::string vtt = options_.vtt ? to_vtt(t) : std::string();
  write_text_file(paths[0], t.text());
  std::size_t next = 2;
  if (options_.srt) write_text_file(paths[next++], srt);
  if (options_.vtt) write_text_file(paths[next++], vtt);
  write_text_file(paths[1], json);
  r.outputs = paths;
}

/// One run of the pipeline: its plan, the channels between the stages, and the stages, each
/// run by `run` on a thread of its own (the writer on the caller's):
///
///   local files ──────────────────┐
///   downloads (http::fetch_all) ──┴─> to_decode ─> decoders ─> to_transcribe ─> whisper states
///        every stage, for what it fails, skips or cancels ─> to_write <─ (and what they finish)
///
/// A channel closes when the last of its producers is done, so each stage ends when the one
/// before it has. Stop: each stage checks the pipeline's stop flag between files.
class transcribe_pipeline::stages {
 public:
  stages(transcribe_pipeline& pipeline, const std::vector<std::string>& sources)
      : p_(pipeline),
        sources_(sources),
        plans_(plan_inputs(sources, pipeline.options_.output_dir)),
        // Capacities: the decode queue holds a few compressed files' names (cheap); the transcribe
        // queue holds decoded audio, the memory that back-pressure bounds.
        to_decode_(std::max<std::size_t>(pipeline.options_.decoders, 1)),
        to_transcribe_(pipeline.options_.queue),
        to_write_(pipeline.options_.states + pipeline.options_.decoders + 2),
        decode_senders_(to_decode_, 2),
        transcribe_senders_(to_transcribe_, static_cast<int>(pipeline.options_.decoders)),
        write_senders_(to_write_, 2 + static_cast<int>(pipeline.options_.decoders + pipeline.options_.states)) {
    for (std::size_t i = 0; i < sources.size(); ++i) (is_url(sources[i]) ? remote_ : local_).push_back(i);
  }

  /// Local files: straight to the decoders.
  void feed_local_files() {
    trace::set_thread_name("transcribe: local files");
    for (std::size_t i : local_) {
      work w = first_work(i);
      if (p_.stop_) {
        w.result.outcome = file_outcome::cancelled;
        to_write_.send(std::move(w));
      } else if (skip_if_done(w)) {
        to_write_.send(std::move(w));
      } else {
        to_decode_.send(std::move(w));
      }
    }
    decode_senders_.done();
    write_senders_.done();
  }

  /// URLs: downloaded by http::fetch_all through one session on an event loop (its descriptor
  /// cap, its wait on EMFILE, its retries), each handed to the decoders by fetch_all's hook as
  /// it completes (not when all have).
  void download() {
    trace::set_thread_name("transcribe: downloads");
    downloads d = plan_downloads();
    if (!d.items.empty() && !p_.stop_) aio::run(fetch(d));
    report_not_handed_on(d);
    decode_senders_.done();
    write_senders_.done();
  }

  /// Decoder `index`: compressed file in, samples out.
  void decode(std::size_t index) {
    trace::set_thread_name("transcribe: decode " + std::to_string(index));
    while (auto w = to_decode_.receive()) {
      if (p_.stop_) {
        w->result.outcome = file_outcome::cancelled;
        to_write_.send(std::move(*w));
        continue;
      }
      const auto t0 = std::chrono::steady_clock::now();
      try {
        trace::span span("decode", "media", w->result.media.filename().string());
        w->audio = decode_audio(w->result.media);
      } catch (const std::exception& e) {
        w->result.outcome = file_outcome::failed;
        w->result.stage = "decode";
        w->result.error = e.what();
        to_write_.send(std::move(*w));
        continue;
      }
      w->result.decode_seconds = since(t0);
      w->result.audio_seconds = w->audio.seconds();
      ++p_.progress_.decoded;
      to_transcribe_.send(std::move(*w));
    }
    transcribe_senders_.done();
    write_senders_.done();
  }

  /// Whisper state `index`: samples in, transcription out.
  void transcribe(whisper_model::state& state, std::size_t index) {
    trace::set_thread_name("transcribe: whisper state " + std::to_string(index));
    while (auto w = to_transcribe_.receive()) {
      if (p_.stop_) {
        w->result.outcome = file_outcome::cancelled;
      } else {
        try {
          trace::span span("transcribe", "media", w->result.media.filename().string());
          w->text = state.transcribe(w->audio.samples, p_.options_.transcribe, &p_.stop_);
          w->result.transcribe_seconds = w->text.seconds;
          w->result.language = w->text.language;
          w->result.outcome = file_outcome::ok;
          ++p_.progress_.transcribed;
        } catch (const cancelled_error&) {
          w->result.outcome = file_outcome::cancelled;
        } catch (const std::exception& e) {
          w->result.outcome = file_outcome::failed;
          w->result.stage = "transcribe";
          w->result.error = e.what();
        }
      }
      w->audio.samples = {};  // the memory the queue bound was about
      to_write_.send(std::move(*w));
    }
    write_senders_.done();
  }

  /// The writer, on the caller's thread until every other stage is done. A finished
  /// transcription is written even after a stop (it is complete); each file appears whole or
  /// not at all. Returns every source's result, in input order.
  std::vector<file_result> write(const std::function<void(const file_result&)>& on_file) {
    std::vector<file_result> results(sources_.size());
    while (auto w = to_write_.receive()) {
      file_result& r = w->result;
      if (r.outcome == file_outcome::ok) {
        try {
          trace::span span("write", "media", r.media.filename().string());
          p_.write_outputs(*w, w->text, r);
        } catch (const std::exception& e) {
          r.outcome = file_outcome::failed;
          r.stage = "write";
          r.error = e.what();
        }
      }
      if (r.outcome == file_outcome::failed) ++p_.progress_.failed;
      if (r.outcome == file_outcome::cancelled) ++p_.progress_.cancelled;
      ++p_.progress_.finished;
      results[w->index] = std::move(r);
      if (on_file) on_file(results[w->index]);
    }
    return results;
  }

 private:
  /// The download stage's books: which URLs it asked fetch_all for, and which it handed on.
  struct downloads {
    std::vector<char> handed_on;          // per URL (`remote_`); set on the loop thread, read after it
    std::vector<http::fetch_item> items;  // what fetch_all downloads
    std::vector<std::size_t> fetched;     // item -> its place in `remote_`
  };

  work first_work(std::size_t i) const {
    work w;
    w.index = i;
    w.plan = &plans_[i];
    w.result.source = sources_[i];
    if (!plans_[i].download) w.result.media = plans_[i].media;  // a URL's once it is downloaded
    return w;
  }

  /// With skip_existing, whether every output of `w` exists already (then marked skipped).
  bool skip_if_done(work& w) const {
    if (!p_.options_.skip_existing) return false;
    for (const auto& output : p_.outputs_for(*w.plan)) {
      std::error_code ec;
      if (!fs::exists(output, ec)) return false;
    }
    w.result.outcome = file_outcome::skipped;
    return true;
  }

  /// The URLs to download: an input whose outputs all exist is not downloaded at all.
  downloads plan_downloads() {
    downloads d;
    d.handed_on.assign(remote_.size(), 0);
    for (std::size_t k = 0; k < remote_.size() && !p_.stop_; ++k) {
      work w = first_work(remote_[k]);
      w.result.media = plans_[remote_[k]].media;
      if (skip_if_done(w)) {
        to_write_.send(std::move(w));
        d.handed_on[k] = 1;
      } else {
        d.items.push_back({sources_[remote_[k]], {}, plans_[remote_[k]].media});  // plan_inputs' names
        d.fetched.push_back(k);
      }
    }
    return d;
  }

  /// fetch_all's hook: each finished download, on the loop thread. It suspends while the
  /// channel is full, which holds its place among the downloads: back-pressure from the
  /// decoders.
  aio::task<void> hand_on(downloads& d, std::size_t item, const http::fetch_result& r) {
    const std::size_t k = d.fetched[item];
    work w = first_work(remote_[k]);
    w.result.media = r.path;
    w.result.download_seconds = r.seconds;
    sync::channel<work>* next = &to_decode_;
    if (r.succeeded()) {
      p_.progress_.download_bytes += r.bytes;
      ++p_.progress_.downloaded;
    } else {
      w.result.outcome = file_outcome::failed;
      w.result.stage = "download";
      w.result.error = r.error;
      next = &to_write_;
    }
    auto send = aio::send(*next, std::move(w));
    co_await send;
    d.handed_on[k] = 1;  // only once delivered: a send cancelled before that delivered nothing
  }

  /// The event loop's main task: fetch_all over `d.items`, cancelled by the pipeline's `stop`.
  aio::task<void> fetch(downloads& d) {
    auto& loop = aio::event_loop::running();
    http::session_options so;
    so.max_connections = static_cast<int>(p_.options_.downloads);
    http::session session(so);
    http::fetch_options fo;
    fo.concurrency = p_.options_.downloads;
    fo.retries = p_.options_.retries;
    fo.on_item_done = [this, &d](std::size_t item, const http::fetch_result& r) { return hand_on(d, item, r); };
    // Shared, not copied: a task handle's count is the loop thread's, and `stop` runs on another.
    auto running = std::make_shared<aio::task_handle<std::vector<http::fetch_result>>>(
        aio::spawn(http::fetch_all(session, std::move(d.items), std::move(fo)), "downloads"));
    {
      std::lock_guard lock(p_.stop_mutex_);
      p_.cancel_downloads_ = [&loop, running] { loop.post([running] { running->cancel(); }); };
      if (p_.stop_) p_.cancel_downloads_();
    }
    // A cancelled fetch_all ends normally (it consumes the cancellation); the URLs it did not
    // hand on are reported by `report_not_handed_on`.
    co_await running->wait();
    std::lock_guard lock(p_.stop_mutex_);
    p_.cancel_downloads_ = nullptr;
  }

  /// Every URL not handed on (never started, or cancelled while downloading or waiting for a
  /// place in a channel) is reported here, so each source has exactly one result.
  void report_not_handed_on(const downloads& d) {
    for (std::size_t k = 0; k < remote_.size(); ++k) {
      if (d.handed_on[k] != 0) continue;
      work w = first_work(remote_[k]);
      w.result.outcome = file_outcome::cancelled;
      to_write_.send(std::move(w));
    }
  }

  transcribe_pipeline& p_;
  const std::vector<std::string>& sources_;
  const std::vector<input_plan> plans_;
  std::vector<std::size_t> local_, remote_;  // indexes into `sources_`
  sync::channel<work> to_decode_;
  sync::channel<work> to_transcribe_;
  sync::channel<work> to_write_;
  producers<sync::channel<work>> decode_senders_;
  producers<sync::channel<work>> transcribe_senders_;
  producers<sync::channel<work>> write_senders_;
};

std::vector<file_result> transcribe_pipeline::run(const std::vector<std::string>& sources,
                                                  const std::function<void(const file_result&)>& on_file) {
  progress_.total = sources.size();

  // The states first: a failure to allocate one is the run's error, before anything starts.
  std::vector<whisper_model::state> states;
  for (std::size_t i = 0; i < options_.states; ++i) states.push_back(model_.new_state());

  stages run(*this, sources);
  std::vector<std::jthread> threads;
  threads.emplace_back([&run] { run.feed_local_files(); });
  threads.emplace_back([&run] { run.download(); });
  for (std::size_t d = 0; d < options_.decoders; ++d) threads.emplace_back([&run, d] { run.decode(d); });
  for (std::size_t s = 0; s < options_.states; ++s) {
    threads.emplace_back([&run, &states, s] { run.transcribe(states[s], s); });
  }
  auto results = run.write(on_file);
  threads.clear();  // joins
  return results;
}

}  // namespace trident::media
