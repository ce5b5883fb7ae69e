#pragma once
// One progress line for the `trident` commands that work through many items (`fetch`, and the
// commands that follow it): files and bytes, a smoothed rate, an ETA from bytes, fitted to the
// terminal's width, agreeing with the summary printed after it.
//
// Three parts, so the line can be tested without a terminal:
//   progress_state  counters a command fills in (a plain value);
//   render()        the line for a state and a width (pure);
//   progress_line   the terminal driver: measures the width at each redraw, smooths the rate,
//                   redraws in place.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace trident::cli {

/// What the line shows. Bytes are optional: a command whose items have no size leaves them 0.
struct progress_state {
  std::size_t items_total = 0;
  std::size_t items_done = 0;       ///< Finished in any way.
  std::size_t items_failed = 0;     ///< Part of items_done.
  std::size_t items_cancelled = 0;  ///< Part of items_done; never shown as failed.
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_expected = 0;  ///< Of the items whose size is known.
  std::size_t items_unsized = 0;     ///< Unfinished items whose size is not known yet.
  double bytes_per_second = 0;       ///< Smoothed; 0: not measured yet.
  const char* item_word = "files";
};

/// The total bytes the run will have moved: exact when every size is known, else estimated from
/// the mean size of the known ones (`exact` says which); empty when nothing is known yet. Pure.
struct byte_total {
  std::uint64_t bytes = 0;
  bool exact = false;
};
[[nodiscard]] std::optional<byte_total> expected_total(const progress_state& s) noexcept;

/// Seconds left: bytes still expected over the rate; empty when either is unknown. Pure.
[[nodiscard]] std::optional<double> eta_seconds(const progress_state& s) noexcept;

/// The line for `s`, at most `width` columns (never wider; parts are dropped, least useful
/// first, as the width shrinks, down to nothing on a terminal narrower than a few columns).
/// No control characters. Pure function; thread safe.
[[nodiscard]] std::string render(const progress_state& s, int width);

/// "1.5 MB": decimal units, as the summary prints them. Pure.
[[nodiscard]] std::string human_bytes(double bytes);

/// Exponentially weighted bytes per second over samples of a growing byte counter. Not thread
/// safe (one owner).
class rate_meter {
 public:
  /// `half_life`: how long until an old rate counts for half.
  explicit rate_meter(double half_life_s = 2.0) noexcept : half_life_s_(half_life_s) {}
  /// Feeds the counter's value at `seconds` (monotonic, from any origin).
  void sample(double seconds, std::uint64_t total_bytes) noexcept;
  [[nodiscard]] double bytes_per_second() const noexcept { return rate_; }

 private:
  double half_life_s_;
  std::optional<double> last_s_;
  std::uint64_t last_bytes_ = 0;
  double rate_ = 0;
  bool measured_ = false;
};

/// Draws `render()` on a terminal in place: "\r", the line, "erase to end of line". The width is
/// asked of the terminal (TIOCGWINSZ) at every redraw, so a resize takes effect at the next one,
/// and the line is one column narrower than the terminal so that it never wraps (a wrapped line
/// would leave a copy of itself at each redraw). Not thread safe (one owner).
class progress_line {
 public:
  explicit progress_line(std::FILE* out, int fd);
  /// Redraws with `s`, its rate the smoothed rate of `bytes_received` (everything received,
  /// retried attempts included: what the network delivers).
  void draw(progress_state s, std::uint64_t bytes_received);
  /// Leaves the last line on screen and moves to the next.
  void finish();
  /// The terminal's columns now, or 80 when it does not say.
  [[nodiscard]] int width() const noexcept;

 private:
  std::FILE* out_;
  int fd_;
  rate_meter rate_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace trident::cli
