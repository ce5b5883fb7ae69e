// Analysis of one dataset: parsing, order statistics, trend and autocorrelation.

#include "dataset_analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "content_hash.hpp"

namespace trident::scenarios {
namespace {

struct series {
  std::vector<double> t;
  std::vector<double> value;
};

series parse_csv(std::string_view csv) {
  series s;
  s.t.reserve(csv.size() / 20);
  s.value.reserve(csv.size() / 20);
  std::size_t line_number = 0;
  while (!csv.empty()) {
    const auto end = csv.find('\n');
    std::string_view line = csv.substr(0, end);
    csv = end == std::string_view::npos ? std::string_view() : csv.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1) {
      if (line != "t,value") throw std::invalid_argument("dataset: line 1 must be the header 't,value'");
      continue;
    }
    if (line.empty()) continue;
    const auto comma = line.find(',');
    double t = 0, v = 0;
    const char* const first = line.data();
    const char* const last = line.data() + line.size();
    const auto [t_end, t_ec] = std::from_chars(first, comma == std::string_view::npos ? last : first + comma, t);
    const bool t_ok = comma != std::string_view::npos && t_ec == std::errc() && t_end == first + comma;
    const auto [v_end, v_ec] =
        t_ok ? std::from_chars(first + comma + 1, last, v) : std::from_chars_result{last, std::errc::invalid_argument};
    if (!t_ok || v_ec != std::errc() || v_end != last || !std::isfinite(v)) {
      throw std::invalid_argument(fmt::format("dataset: line {} is not 't,value' with two numbers: '{}'", line_number,
                                              std::string(line.substr(0, 80))));
    }
    s.t.push_back(t);
    s.value.push_back(v);
  }
  if (line_number == 0) throw std::invalid_argument("dataset: empty");
  if (s.value.size() < 16)
    throw std::invalid_argument(fmt::format("dataset: {} rows; at least 16 needed", s.value.size()));
  return s;
}

/// The value at quantile `q` of sorted values (linear interpolation).
double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(position);
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

}  // namespace

dataset_summary analyse_dataset(std::string_view csv) {
  const series s = parse_csv(csv);
  const std::vector<double>& x = s.value;
  const std::size_t n = x.size();
  dataset_summary out;
  out.rows = n;

  double sum = 0;
  for (const double v : x) sum += v;
  out.mean = sum / static_cast<double>(n);
  double squares = 0;
  for (const double v : x) squares += (v - out.mean) * (v - out.mean);
  out.stddev = std::sqrt(squares / static_cast<double>(n - 1));

  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  out.min = sorted.front();
  out.max = sorted.back();
  out.median = quantile(sorted, 0.5);
  out.p05 = quantile(sorted, 0.05);
  out.p95 = quantile(sorted, 0.95);

  // Least-squares trend of value against time (seconds), reported per day.
  double t_mean = 0;
  for (const double t : s.t) t_mean += t;
  t_mean /= static_cast<double>(n);
  double covariance = 0, t_variance = 0;
  for (std::size_t i = 0; i < n; ++i) {
    covariance += (s.t[i] - t_mean) * (x[i] - out.mean);
    t_variance += (s.t[i] - t_mean) * (s.t[i] - t_mean);
  }
  out.trend_per_day = t_variance > 0 ? covariance / t_variance * 86'400.0 : 0.0;

  // Autocorrelation of the centred series at lags 1..max_lag: the heavy part.
  std::vector<double> centred(n);
  for (std::size_t i = 0; i < n; ++i) centred[i] = x[i] - out.mean;
  const std::size_t max_lag = std::min(max_autocorrelation_lag, n / 2);
  std::vector<double> r(max_lag + 1, 0.0);
  if (squares > 0) {
    for (std::size_t lag = 1; lag <= max_lag; ++lag) {
      double acc = 0;
      const std::size_t m = n - lag;
      for (std::size_t i = 0; i < m; ++i) acc += centred[i] * centred[i + lag];
      r[lag] = acc / squares;
    }
  }
  // The dominant cycle: the strongest correlation after the series first turns negative.
  std::size_t lag = 1;
  while (lag <= max_lag && r[lag] >= 0) ++lag;
  for (; lag <= max_lag; ++lag) {
    if (r[lag] > out.period_strength) {
      out.period_strength = r[lag];
      out.period_rows = lag;
    }
  }
  return out;
}

std::uint64_t summary_digest(const dataset_summary& s) noexcept {
  std::uint64_t h = mix64(s.rows) ^ mix64(s.period_rows + 0x51ULL);
  for (const double v : {s.mean, s.stddev, s.min, s.max, s.median, s.p05, s.p95, s.trend_per_day, s.period_strength}) {
    h = mix64(h ^ std::bit_cast<std::uint64_t>(v));
  }
  return h;
}

}  // namespace trident::scenarios
