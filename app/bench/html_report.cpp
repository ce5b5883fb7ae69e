#include "html_report.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "trident/core/atomic_file.hpp"

namespace trident::bench {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string compiler_text() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

// Chart geometry (SVG user units).
constexpr double chart_width = 860;
constexpr double label_width = 130;
constexpr double plot_left = label_width + 10;
constexpr double plot_right = 560;
constexpr double row_height = 26;
constexpr double top = 22;     // room for the target labels
constexpr double bottom = 26;  // room for the axis

/// Where a value lies on the chart: linear from 0, or logarithmic when the values span more than
/// 30x (a Python peer 100x slower would leave Trident's bar a sliver).
struct scale {
  double lo = 0;
  double hi = 1;
  bool log = false;

  [[nodiscard]] double x(double v) const {
    double f = 0;
    if (log) {
      f = (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    } else {
      f = v / hi;
    }
    return plot_left + std::clamp(f, 0.0, 1.0) * (plot_right - plot_left);
  }
};

scale scale_for(const std::vector<const result*>& rows, const std::vector<double>& lines) {
  double lo = 0;
  double hi = 0;
  for (const result* r : rows) {
    for (const double v : {r->value, r->low, r->high}) {
      if (v <= 0) continue;
      lo = lo == 0 ? v : std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  for (const double v : lines) {
    if (v <= 0) continue;
    lo = lo == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (hi <= 0) return scale{0, 1, false};
  if (lo > 0 && hi / lo > 30) {
    return scale{std::pow(10, std::floor(std::log10(lo))), std::pow(10, std::ceil(std::log10(hi))), true};
  }
  // A round top: 1, 2, 2.5 or 5 times a power of ten, at least 5% above the largest value.
  const double want = hi * 1.05;
  const double p = std::pow(10, std::floor(std::log10(want)));
  double top_value = p;
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= want) {
      top_value = m * p;
      break;
    }
  }
  return scale{0, top_value, false};
}

std::vector<double> ticks(const scale& s) {
  std::vector<double> out;
  if (s.log) {
    for (double v = s.lo; v <= s.hi * 1.0001; v *= 10) out.push_back(v);
  } else {
    for (int i = 0; i <= 4; ++i) out.push_back(s.hi * i / 4);
  }
  return out;
}

/// One case's chart.
std::string render_case(const suite_results& suite, const std::string& case_name) {
  std::vector<const result*> rows;
  for (const auto& r : suite.rows) {
    if (r.case_name == case_name) rows.push_back(&r);
  }
  const result* base = baseline_of(suite.rows, case_name);
  struct line {
    double value;
    std::string label;
  };
  std::vector<line> lines;
  std::vector<double> line_values;
  std::vector<std::string> target_texts;
  for (const auto& t : suite.targets) {
    if (t.case_name != case_name) continue;
    const auto v = target_value(t, suite.rows);
    const auto check = check_target(t, suite.rows);
    std::string label = t.text + (t.impl == "trident" ? "" : " (" + t.impl + ")");
    std::string outcome = "no figure";
    if (check) {
      const std::string figure =
          t.versus.empty() ? format_value(check->figure) : fmt::format("{:.2f}x {}", check->figure, t.versus);
      outcome = fmt::format("{}, {}", figure, check->met ? "met" : "MISSED");
    }
    const char* kind = !check ? "nofigure" : check->met ? "met" : "missed";
    target_texts.push_back(fmt::format("<li class=\"{}\">target {}: {}</li>", kind, escape(label), escape(outcome)));
    if (v) {
      lines.push_back({*v, label});
      line_values.push_back(*v);
    }
  }
  const scale s = scale_for(rows, line_values);
  const double height = top + row_height * static_cast<double>(rows.size()) + bottom;
  const result& first = *rows.front();
  std::string out = fmt::format(
      "<figure class=\"case\" data-suite=\"{}\" data-case=\"{}\">\n<figcaption><b>{}</b> <span class=\"unit\">{}, {} "
      "is "
      "better{}</span></figcaption>\n",
      escape(suite.suite), escape(case_name), escape(case_name), escape(first.unit),
      first.higher_is_better ? "higher" : "lower", s.log ? "; log scale" : "");
  out += fmt::format("<svg viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
                     chart_width, height, chart_width, height, escape(case_name));
  // Axis and grid.
  const double axis_y = top + row_height * static_cast<double>(rows.size());
  for (const double t : ticks(s)) {
    const double x = s.x(t);
    out += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"/>", x, top - 4, x, axis_y);
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\">{}</text>\n", x, axis_y + 16, format_value(t));
  }
  // Bars, whiskers and labels.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const result& r = *rows[i];
    const double y = top + row_height * static_cast<double>(i);
    const bool is_base = &r == base;
    const bool is_trident = r.impl.starts_with("trident");
    out += fmt::format("<g class=\"row{}\" data-impl=\"{}\">", is_trident ? " trident" : "", escape(r.impl));
    out += fmt::format("<text class=\"impl\" x=\"{}\" y=\"{:.1f}\">{}</text>", label_width, y + 17, escape(r.impl));
    const double x0 = s.log ? plot_left : s.x(0);
    out += fmt::format(
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"16\"><title>{}: median {} {}, "
        "rounds {} ({} round(s))</title></rect>",
        x0, y + 5, std::max(1.0, s.x(r.value) - x0), escape(r.impl), format_value(r.value), escape(r.unit),
        escape(format_range(r)), r.runs);
    if (r.runs > 1) {
      const double lo = s.x(r.low);
      const double hi = s.x(r.high);
      out += fmt::format(
          "<path class=\"range\" d=\"M{0:.1f} {1:.1f}V{2:.1f}M{0:.1f} {3:.1f}H{4:.1f}M{4:.1f} {1:.1f}V{2:.1f}\"/>", lo,
          y + 8, y + 18, y + 13, hi);
    }
    std::string ratio;
    if (is_base) {
      ratio = "baseline";
    } else if (base != nullptr) {
      if (const auto a = advantage(*base, r)) {
        ratio = fmt::format("{} {:.2f}×", base->impl, a->median);
        // One round each has no range to show.
        if (base->runs > 1 || r.runs > 1) ratio += fmt::format(" ({:.2f}–{:.2f})", a->low, a->high);
      }
    }
    out += fmt::format("<text class=\"value\" x=\"{}\" y=\"{:.1f}\">{} <tspan class=\"ratio\">{}</tspan></text></g>\n",
                       plot_right + 12, y + 17, format_value(r.value), escape(ratio));
  }
  for (const auto& l : lines) {
    const double x = s.x(l.value);
    out += fmt::format(
        "<g class=\"target\"><line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\"/><text x=\"{0:.1f}\" "
        "y=\"{3}\">{4}</text></g>\n",
        x, top - 6, axis_y, top - 9, escape(l.label));
  }
  out += "</svg>\n";
  if (!target_texts.empty()) {
    out += "<ul class=\"targets\">";
    for (const auto& t : target_texts) out += t;
    out += "</ul>\n";
  }
  out += "</figure>\n";
  return out;
}

constexpr const char* style = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2230; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d8dce6; }
table.machine { border-collapse: collapse; margin: 8px 0 16px; }
table.machine td { padding: 2px 14px 2px 0; }
table.machine td:first-child { color: #5b6275; }
figure.case { margin: 14px 0 18px; }
figcaption { margin-bottom: 2px; }
figcaption .unit { color: #5b6275; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2230; }
svg text.impl { text-anchor: end; }
svg text.tick { text-anchor: middle; fill: #5b6275; font-size: 11px; }
svg .grid { stroke: #e6e9f0; }
svg .bar { fill: #9aa6bf; }
svg .trident .bar { fill: #2f6fd6; }
svg .range { stroke: #1d2230; stroke-width: 1.5; fill: none; }
svg .ratio { fill: #5b6275; }
svg g.row:hover .bar { fill: #f0a020; }
svg .target line { stroke: #c0392b; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .target text { fill: #c0392b; text-anchor: middle; font-size: 11px; }
ul.targets, ul.notes { margin: 2px 0; padding-left: 20px; color: #5b6275; }
ul.targets .met { color: #1e7d32; }
ul.targets .missed { color: #c0392b; font-weight: 600; }
)";

// Publishes what the page shows (charts per suite, rows per chart) for whoever reads the page
// without a screen: a test, or a script.
constexpr const char* script = R"(
(function () {
  var cases = [];
  document.querySelectorAll("figure.case").forEach(function (f) {
    var rows = [];
    f.querySelectorAll("g.row").forEach(function (g) {
      rows.push({ impl: g.dataset.impl, ratio: g.querySelector(".ratio").textContent });
    });
    cases.push({ suite: f.dataset.suite, "case": f.dataset.case, rows: rows,
                 targets: f.querySelectorAll("g.target").length });
  });
  var out = document.getElementById("report-summary");
  out.textContent = JSON.stringify({ cases: cases });
  window.tridentBenchReport = { cases: cases };
})();
)";

}  // namespace

std::array<double, 3> load_average_now() {
  std::array<double, 3> load{};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load = {};
    std::fclose(f);
  }
  return load;
}

machine_info machine_now() {
  machine_info m;
  m.cores = std::thread::hardware_concurrency();
  m.load_before = load_average_now();
  m.load_after = m.load_before;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  m.compiler = compiler_text();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  m.date = date;
  return m;
}

std::string render_html_report(const std::vector<suite_results>& suites, const machine_info& machine) {
  std::string names;
  for (const auto& s : suites) names += (names.empty() ? "" : ", ") + s.suite;
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>trident bench: "
      "{}</title>\n<style>{}</style>\n</head>\n<body>\n",
      escape(names), style);
  const auto load = [](const std::array<double, 3>& l) {
    return fmt::format("{:.2f} {:.2f} {:.2f}", l[0], l[1], l[2]);
  };
  out += fmt::format("<h1>trident bench: {}</h1>\n<table class=\"machine\">\n", escape(names));
  out += fmt::format("<tr><td>date</td><td id=\"date\">{}</td></tr>\n", escape(machine.date));
  out += fmt::format("<tr><td>cores</td><td id=\"cores\">{}</td></tr>\n", machine.cores);
  out += fmt::format("<tr><td>load before</td><td id=\"load-before\">{}</td></tr>\n", load(machine.load_before));
  out += fmt::format("<tr><td>load after</td><td id=\"load-after\">{}</td></tr>\n", load(machine.load_after));
  out += fmt::format("<tr><td>kernel</td><td id=\"kernel\">{}</td></tr>\n", escape(machine.kernel));
  out += fmt::format("<tr><td>compiler</td><td id=\"compiler\">{}</td></tr>\n</table>\n", escape(machine.compiler));
  out +=
      "<p>Bars: each implementation's median over the rounds; whiskers: its lowest and highest round. Beside each: "
      "the median, and how many times better the case's baseline (Trident) is than that row, with the range over "
      "the rounds (&gt;1: the baseline is ahead). Dashed lines: the figure a target asks of Trident.</p>\n";
  for (const auto& s : suites) {
    out += fmt::format("<section class=\"suite\" id=\"suite-{0}\">\n<h2>{0}</h2>\n", escape(s.suite));
    std::vector<std::string> seen;
    for (const auto& r : s.rows) {
      if (std::find(seen.begin(), seen.end(), r.case_name) != seen.end()) continue;
      seen.push_back(r.case_name);
      out += render_case(s, r.case_name);
    }
    if (seen.empty()) out += "<p>No figures.</p>\n";
    if (!s.notes.empty()) {
      out += "<ul class=\"notes\">";
      for (const auto& n : s.notes) out += "<li>" + escape(n) + "</li>";
      out += "</ul>\n";
    }
    out += "</section>\n";
  }
  out += fmt::format("<pre id=\"report-summary\" hidden></pre>\n<script>{}</script>\n</body>\n</html>\n", script);
  return out;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  atomic_file f(path, {.if_exists = atomic_file::existing::replace});
  f.write(text);
  f.commit();
}

void write_html_report(const std::string& path, const std::vector<suite_results>& suites, const machine_info& machine) {
  write_file_atomically(path, render_html_report(suites, machine));
}

}  // namespace trident::bench
