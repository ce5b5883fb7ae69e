#include "trident/trace/html_timeline.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "trident/testing/temp_dir.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::trace {
namespace {

class html_timeline_test : public ::testing::Test {
 protected:
  void SetUp() override {
    stop();
    clear();
  }
  void TearDown() override {
    stop();
    clear();
    set_process_name("");
  }
};

std::string page_text() {
  std::ostringstream out;
  write_html_timeline(out);
  return out.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

/// The trace the page embeds (the JSON in its trace-data script element).
nlohmann::json embedded_data(const std::string& page) {
  const std::string open = R"(<script type="application/json" id="trace-data">)";
  const auto begin = page.find(open);
  if (begin == std::string::npos) throw std::runtime_error("no trace-data element");
  const auto end = page.find("</script>", begin);
  return nlohmann::json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

struct embedded_span {
  std::string lane, name, category, detail;
  std::uint64_t start = 0, duration = 0;
  bool async = false;
};

std::vector<embedded_span> embedded_spans(const nlohmann::json& data) {
  const auto& flat = data.at("spans");
  const auto& strings = data.at("strings");
  EXPECT_EQ(flat.size() % 7, 0u);
  std::vector<embedded_span> spans;
  for (std::size_t i = 0; i + 7 <= flat.size(); i += 7) {
    embedded_span s;
    s.lane = data.at("lanes").at(flat[i].get<std::size_t>()).at("name");
    s.start = flat[i + 1];
    s.duration = flat[i + 2];
    s.name = strings.at(flat[i + 3].get<std::size_t>());
    s.category = strings.at(flat[i + 4].get<std::size_t>());
    if (flat[i + 5].get<int>() >= 0) s.detail = strings.at(flat[i + 5].get<std::size_t>());
    s.async = flat[i + 6] == 1;
    spans.push_back(s);
  }
  return spans;
}

TEST_F(html_timeline_test, the_page_is_self_contained) {
  start();
  { span s("work", "task", "https://example.com/a"); }
  stop();
  std::string page = page_text();
  std::transform(page.begin(), page.end(), page.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  // The URL recorded as a detail is embedded with its slashes; the page itself loads nothing.
  EXPECT_EQ(count_of(page, "http://"), 0u);
  EXPECT_EQ(count_of(page, "https://"), 1u) << "only the recorded detail";
  EXPECT_EQ(count_of(page, "<script src"), 0u);
  EXPECT_EQ(count_of(page, "<link"), 0u);
  EXPECT_EQ(count_of(page, "@import"), 0u);
  EXPECT_EQ(count_of(page, "url("), 0u);
  EXPECT_EQ(count_of(page, "@trident_timeline_data@"), 0u) << "the marker was replaced by the trace";
}

TEST_F(html_timeline_test, embeds_every_span_on_a_named_lane_per_thread) {
  set_process_name("timeline test");
  start();
  const auto t = now_ns();
  record("outer", "lesson", t, t + 10'000, "cell 5");
  record("inner", "thread_pool", t + 1'000, t + 4'000);
  std::thread worker([t] {
    set_thread_name("helper-1");
    record_async("download", "http", t + 2'000, t + 9'000, "a");
    record_async("download", "http", t + 3'000, t + 8'000, "b");
  });
  worker.join();
  stop();

  const auto data = embedded_data(page_text());
  EXPECT_EQ(data.at("writer_pid"), static_cast<int>(::getpid()));
  ASSERT_EQ(data.at("processes").size(), 1u);
  EXPECT_EQ(data.at("processes")[0].at("name"), "timeline test");
  ASSERT_EQ(data.at("lanes").size(), 2u);
  EXPECT_EQ(data.at("lanes")[0].at("name"), "main thread") << "the main thread comes first";
  EXPECT_EQ(data.at("lanes")[0].at("tid"), static_cast<int>(::getpid()));
  EXPECT_EQ(data.at("lanes")[1].at("name"), "helper-1");

  const auto spans = embedded_spans(data);
  ASSERT_EQ(spans.size(), 4u);
  std::map<std::string, int> per_lane;
  for (const auto& s : spans) ++per_lane[s.lane];
  EXPECT_EQ(per_lane["main thread"], 2);
  EXPECT_EQ(per_lane["helper-1"], 2);
  // Sorted by start; times count from the first span, in nanoseconds.
  EXPECT_EQ(spans[0].name, "outer");
  EXPECT_EQ(spans[0].start, 0u);
  EXPECT_EQ(spans[0].duration, 10'000u);
  EXPECT_EQ(spans[0].category, "lesson");
  EXPECT_EQ(spans[0].detail, "cell 5");
  EXPECT_FALSE(spans[0].async);
  EXPECT_EQ(spans[1].name, "inner");
  EXPECT_EQ(spans[1].start, 1'000u);
  EXPECT_EQ(spans[1].detail, "");
  EXPECT_EQ(spans[2].name, "download");
  EXPECT_EQ(spans[2].lane, "helper-1");
  EXPECT_EQ(spans[2].detail, "a");
  EXPECT_TRUE(spans[2].async);
  EXPECT_EQ(spans[3].start, 3'000u);
  EXPECT_EQ(spans[3].duration, 5'000u);
}

TEST_F(html_timeline_test, recorded_text_cannot_end_the_script_or_break_the_data) {
  const std::string hostile = "</script><script>alert(1)</script><!-- \"quoted\" back\\slash\nline\ttab\x01 & <b>";
  start();
  const auto t = now_ns();
  record("work", "task", t, t + 100, hostile);
  set_thread_name("</script>thread");
  stop();
  const std::string page = page_text();
  EXPECT_EQ(count_of(page, "alert(1)</script>"), 0u);
  EXPECT_EQ(count_of(page, "<!-- \""), 0u);
  // The empty page has exactly two script elements (the data and the program), so two ends.
  EXPECT_EQ(count_of(page, "</script>"), 2u);
  const auto data = embedded_data(page);
  const auto spans = embedded_spans(data);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].detail, hostile);
  EXPECT_EQ(spans[0].lane, "</script>thread");
}

TEST_F(html_timeline_test, spans_imported_from_a_worker_process_get_that_process_and_its_lanes) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The worker: records on its own clock, then sends its spans to the parent.
    ::close(pipe_fds[0]);
    set_process_name("worker 1 (pid " + std::to_string(::getpid()) + ")");
    start();
    const auto t = now_ns();
    record("task", "process_pool", t, t + 2'000, "square");
    record("task", "process_pool", t + 3'000, t + 4'000, "square");
    const std::string packed = take_spans_for_parent();
    const char* p = packed.data();
    std::size_t left = packed.size();
    while (left > 0) {
      const auto n = ::write(pipe_fds[1], p, left);
      if (n <= 0) ::_exit(1);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string packed;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    packed.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  start();
  { span s("submit", "process_pool"); }
  stop();
  import_spans(packed);

  const auto data = embedded_data(page_text());
  ASSERT_EQ(data.at("processes").size(), 2u);
  EXPECT_EQ(data.at("processes")[0].at("pid"), static_cast<int>(::getpid())) << "the writer comes first";
  EXPECT_EQ(data.at("processes")[1].at("pid"), child);
  EXPECT_EQ(data.at("processes")[1].at("name"), "worker 1 (pid " + std::to_string(child) + ")");
  ASSERT_EQ(data.at("lanes").size(), 2u);
  EXPECT_EQ(data.at("lanes")[1].at("pid"), child);
  EXPECT_EQ(data.at("lanes")[1].at("name"), "main thread");
  const auto spans = embedded_spans(data);
  EXPECT_EQ(std::count_if(spans.begin(), spans.end(), [](const auto& s) { return s.detail == "square"; }), 2);
}

TEST_F(html_timeline_test, an_empty_trace_gives_a_page_with_no_lanes) {
  const auto data = embedded_data(page_text());
  EXPECT_TRUE(data.at("lanes").empty());
  EXPECT_TRUE(data.at("processes").empty());
  EXPECT_TRUE(data.at("spans").empty());
}

TEST_F(html_timeline_test, the_file_is_replaced_whole_and_a_bad_path_leaves_nothing) {
  testing::temp_dir dir{"trident-html-timeline"};
  const auto path = dir.path / "timeline.html";
  { std::ofstream(path) << "an older page"; }
  start();
  { span s("work"); }
  stop();
  write_html_timeline_file(path.string());
  std::ifstream in(path);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, page_text());
  EXPECT_EQ(dir.names(), std::vector<std::string>{"timeline.html"}) << "no temporary left beside it";

  EXPECT_THROW(write_html_timeline_file((dir.path / "missing" / "t.html").string()), std::system_error);
  EXPECT_EQ(dir.names(), std::vector<std::string>{"timeline.html"});
}

}  // namespace
}  // namespace trident::trace
