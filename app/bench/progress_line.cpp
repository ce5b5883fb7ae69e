#include "progress_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace trident::bench {
namespace {

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

/// "0:42", "12:05", "1:02:03".
std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

std::string progress_text(const progress_point& p, int width) {
  std::string text = fmt::format("bench {} · case {}/{} {} · ", p.suite, p.case_index, p.case_count, p.case_name);
  text += p.round == 0 ? std::string("warm-up") : fmt::format("round {}/{}", p.round, p.rounds);
  text += p.eta_s ? " · ETA " + clock_text(*p.eta_s) : std::string(" · ETA ?");
  // Cut at `width` columns: every character here is one column, and "·" is two bytes of UTF-8.
  std::string out;
  int columns = 0;
  for (std::size_t i = 0; i < text.size() && columns < width; ++columns) {
    const std::size_t n = (static_cast<unsigned char>(text[i]) & 0xE0) == 0xC0 ? 2 : 1;
    out.append(text, i, n);
    i += n;
  }
  return out;
}

progress_line::progress_line(bool enabled) : active_(enabled && ::isatty(STDERR_FILENO) == 1) {}

progress_line::~progress_line() { clear(); }

void progress_line::show(const progress_point& p) {
  if (!active_) return;
  // One column short of the width: a line that fills it would wrap on some terminals.
  std::fprintf(stderr, "\r\033[K%s", progress_text(p, terminal_width() - 1).c_str());
  std::fflush(stderr);
  shown_ = true;
}

void progress_line::clear() {
  if (!active_ || !shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace trident::bench
