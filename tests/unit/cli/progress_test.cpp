// The progress line of the `trident` commands (app/commands/progress.hpp): what it says at each width,
// the ETA it computes from bytes, and its agreement with the summary.

#include "progress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using trident::cli::progress_state;
using trident::cli::render;

namespace {

/// Two 5 MB files half done, one not started, 1 MB/s: the case of issue #10.
progress_state half_done() {
  progress_state s;
  s.items_total = 3;
  s.items_done = 0;
  s.bytes_done = 5'000'000;
  s.bytes_expected = 10'000'000;  // the two started files sent Content-Length
  s.items_unsized = 1;            // the third has not started
  s.bytes_per_second = 1'000'000;
  return s;
}

}  // namespace

TEST(progress_render, shows_bytes_done_of_bytes_expected_not_only_files) {
  const std::string line = render(half_done(), 200);
  EXPECT_NE(line.find("0/3 files"), std::string::npos) << line;
  // The unstarted file is estimated at the mean of the known ones: ~15 MB in all.
  EXPECT_NE(line.find("5.0 MB/~15.0 MB"), std::string::npos) << line;
  EXPECT_NE(line.find("1.0 MB/s"), std::string::npos) << line;
}

TEST(progress_render, eta_comes_from_bytes_left_over_the_rate) {
  // Regression: with 4.5 MB left at 200 KB/s the line said "ETA 0s" (it divided time by files).
  progress_state s;
  s.items_total = 2;
  s.items_done = 1;
  s.bytes_done = 500'000;
  s.bytes_expected = 5'000'000;
  s.items_unsized = 0;
  s.bytes_per_second = 200'000;
  const auto eta = trident::cli::eta_seconds(s);
  ASSERT_TRUE(eta.has_value());
  EXPECT_DOUBLE_EQ(*eta, 22.5);
  EXPECT_NE(render(s, 200).find("ETA 23s"), std::string::npos) << render(s, 200);
}

TEST(progress_render, no_eta_before_a_rate_or_a_size_is_known) {
  progress_state s;
  s.items_total = 4;
  s.items_unsized = 4;
  s.bytes_per_second = 1000;
  EXPECT_FALSE(trident::cli::eta_seconds(s).has_value());
  EXPECT_EQ(render(s, 200).find("ETA"), std::string::npos);
  s = half_done();
  s.bytes_per_second = 0;
  EXPECT_FALSE(trident::cli::eta_seconds(s).has_value());
}

TEST(progress_render, cancelled_is_shown_as_cancelled_like_the_summary) {
  // Regression: after Ctrl-C the line said "42/42 files ... failed 2" while the summary said
  // "0 failed, 2 cancelled".
  progress_state s;
  s.items_total = 42;
  s.items_done = 42;
  s.items_cancelled = 2;
  s.bytes_done = 40'000;
  s.bytes_expected = 40'000;
  const std::string line = render(s, 200);
  EXPECT_NE(line.find("2 cancelled"), std::string::npos) << line;
  EXPECT_EQ(line.find("failed"), std::string::npos) << line;
  s.items_failed = 1;
  s.items_cancelled = 1;
  EXPECT_NE(render(s, 200).find("1 failed, 1 cancelled"), std::string::npos) << render(s, 200);
}

TEST(progress_render, never_wider_than_the_width_at_any_width) {
  progress_state s = half_done();
  s.items_failed = 3;
  s.items_total = 12345;
  for (int width = 0; width <= 160; ++width) {
    const std::string line = render(s, width);
    EXPECT_LE(static_cast<int>(line.size()), width) << "width " << width << ": '" << line << "'";
  }
}

TEST(progress_render, narrow_terminals_keep_the_counts_and_drop_the_bar_and_rate_first) {
  progress_state s = half_done();
  s.items_failed = 1;
  const std::string wide = render(s, 120);
  EXPECT_NE(wide.find('['), std::string::npos) << wide;
  const std::string narrow = render(s, 39);
  EXPECT_EQ(narrow.find('['), std::string::npos) << narrow;
  EXPECT_NE(narrow.find("0/3 files"), std::string::npos) << narrow;
  EXPECT_NE(narrow.find("1 failed"), std::string::npos) << narrow;
  EXPECT_EQ(narrow.find("MB/s"), std::string::npos) << narrow;
  // Narrower than the file count itself: cut, never wrapped.
  EXPECT_EQ(render(s, 4), "0/3 ");
  EXPECT_EQ(render(s, 0), "");
}

TEST(progress_render, bar_follows_bytes_while_files_are_in_flight) {
  progress_state s;
  s.items_total = 2;
  s.bytes_done = 5'000'000;
  s.bytes_expected = 10'000'000;
  const std::string line = render(s, 80);
  const auto open = line.find('['), close = line.find(']');
  ASSERT_NE(open, std::string::npos);
  const std::string bar = line.substr(open + 1, close - open - 1);
  const auto filled = static_cast<double>(std::count(bar.begin(), bar.end(), '#'));
  EXPECT_NEAR(filled / static_cast<double>(bar.size()), 0.5, 0.05) << line;
}

TEST(rate_meter, first_interval_sets_the_rate_and_later_ones_are_smoothed) {
  trident::cli::rate_meter m(1.0);
  m.sample(0.0, 0);
  EXPECT_EQ(m.bytes_per_second(), 0);
  m.sample(1.0, 1000);
  EXPECT_DOUBLE_EQ(m.bytes_per_second(), 1000);
  m.sample(2.0, 1000);  // a second with nothing: half way to 0 after one half-life
  EXPECT_DOUBLE_EQ(m.bytes_per_second(), 500);
}
