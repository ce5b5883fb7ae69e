#include "progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace trident::cli {

std::string human_bytes(double b) {
  const std::array<const char*, 5> units{"B", "KB", "MB", "GB", "TB"};
  std::size_t u = 0;
  while (b >= 1000 && u + 1 < units.size()) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::optional<byte_total> expected_total(const progress_state& s) noexcept {
  if (s.items_unsized == 0) return byte_total{s.bytes_expected, true};
  // Items that are sized: every item that will be done (not failed, cancelled) and is not unsized.
  const std::size_t ending = s.items_total - std::min(s.items_total, s.items_failed + s.items_cancelled);
  const std::size_t sized = ending - std::min(ending, s.items_unsized);
  if (sized == 0) return std::nullopt;
  const double mean = static_cast<double>(s.bytes_expected) / static_cast<double>(sized);
  return byte_total{s.bytes_expected + static_cast<std::uint64_t>(mean * static_cast<double>(s.items_unsized)), false};
}

std::optional<double> eta_seconds(const progress_state& s) noexcept {
  if (s.items_done >= s.items_total || s.bytes_per_second <= 0) return std::nullopt;
  const auto total = expected_total(s);
  if (!total) return std::nullopt;
  const std::uint64_t left = total->bytes > s.bytes_done ? total->bytes - s.bytes_done : 0;
  return static_cast<double>(left) / s.bytes_per_second;
}

namespace {

std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(std::ceil(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

struct part {
  std::string text;
  int priority;  // lower: kept longer as the width shrinks
};

}  // namespace

std::string render(const progress_state& s, int width) {
  if (width <= 0) return {};
  // In display order. The file count and the failures are what the summary will say, so they go
  // last; the bar is only decoration and goes first.
  std::vector<part> parts;
  parts.push_back({fmt::format("{}/{} {}", s.items_done, s.items_total, s.item_word), 0});
  const auto total = expected_total(s);
  if (total && (total->bytes > 0 || s.bytes_done > 0)) {  // "0 B/0 B" says nothing
    parts.push_back({fmt::format("{}/{}{}", human_bytes(static_cast<double>(s.bytes_done)), total->exact ? "" : "~",
                                 human_bytes(static_cast<double>(total->bytes))),
                     2});
  } else if (s.bytes_done > 0) {
    parts.push_back({human_bytes(static_cast<double>(s.bytes_done)), 2});
  }
  if (s.bytes_per_second > 0) parts.push_back({human_bytes(s.bytes_per_second) + "/s", 4});
  if (const auto eta = eta_seconds(s)) {
    parts.push_back({fmt::format("ETA {}{}", total && total->exact ? "" : "~", duration_text(*eta)), 3});
  }
  std::string trouble;
  if (s.items_failed > 0) trouble = fmt::format("{} failed", s.items_failed);
  if (s.items_cancelled > 0) {
    trouble += fmt::format("{}{} cancelled", trouble.empty() ? "" : ", ", s.items_cancelled);
  }
  if (!trouble.empty()) parts.push_back({trouble, 1});

  // Keep parts by priority while they fit, two spaces between them.
  std::vector<bool> kept(parts.size(), false);
  int used = 0;
  for (int priority = 0; priority <= 4; ++priority) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].priority != priority) continue;
      const int need = static_cast<int>(parts[i].text.size()) + (used == 0 ? 0 : 2);
      if (used + need <= width) {
        kept[i] = true;
        used += need;
      }
    }
  }
  std::string line;
  // The bar takes what is left, when there is room for a useful one.
  const int room = width - used - (used == 0 ? 0 : 1);
  if (room >= 8) {
    const int inner = std::min(room - 2, 30);
    double fraction = s.items_total == 0 ? 1.0 : static_cast<double>(s.items_done) / static_cast<double>(s.items_total);
    if (total && total->bytes > 0 && s.items_done < s.items_total) {
      fraction = std::min(1.0, static_cast<double>(s.bytes_done) / static_cast<double>(total->bytes));
    }
    const int filled = std::clamp(static_cast<int>(fraction * inner), 0, inner);
    line = "[" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(inner - filled), '.') + "]";
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!kept[i]) continue;
    if (!line.empty()) line += line.back() == ']' ? " " : "  ";
    line += parts[i].text;
  }
  // Narrower than even the file count: cut it rather than wrap.
  if (line.empty()) line = parts.front().text;
  if (static_cast<int>(line.size()) > width) line.resize(static_cast<std::size_t>(width));
  return line;
}

void rate_meter::sample(double seconds, std::uint64_t total_bytes) noexcept {
  if (!last_s_) {
    last_s_ = seconds;
    last_bytes_ = total_bytes;
    return;
  }
  const double dt = seconds - *last_s_;
  if (dt <= 0) return;
  const double instant = static_cast<double>(total_bytes - std::min(total_bytes, last_bytes_)) / dt;
  if (!measured_) {
    rate_ = instant;
    measured_ = true;
  } else {
    const double keep = std::exp2(-dt / half_life_s_);
    rate_ = keep * rate_ + (1 - keep) * instant;
  }
  last_s_ = seconds;
  last_bytes_ = total_bytes;
}

progress_line::progress_line(std::FILE* out, int fd) : out_(out), fd_(fd) {}

int progress_line::width() const noexcept {
  winsize size{};
  if (::ioctl(fd_, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

void progress_line::draw(progress_state s, std::uint64_t bytes_received) {
  rate_.sample(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(), bytes_received);
  s.bytes_per_second = rate_.bytes_per_second();
  // One column spare: a line exactly as wide as the terminal wraps on some terminals.
  const std::string line = render(s, width() - 1);
  std::fprintf(out_, "\r%s\x1b[K", line.c_str());
  std::fflush(out_);
}

void progress_line::finish() {
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace trident::cli
