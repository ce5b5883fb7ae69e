#include "trident/trace/recorder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace trident::trace {
namespace {

class recorder_test : public ::testing::Test {
 protected:
  void SetUp() override {
    stop();
    clear();
  }
  void TearDown() override {
    stop();
    clear();
  }
};

TEST_F(recorder_test, nothing_is_recorded_while_off) {
  { span s("idle"); }
  EXPECT_TRUE(snapshot().empty());
}

TEST_F(recorder_test, spans_from_several_threads_carry_their_thread_and_process) {
  start();
  { span s("main-work", "test", "detail \"quoted\""); }
  std::uint32_t other_tid = 0;
  std::thread t([&] {
    set_thread_name("helper thread");
    other_tid = static_cast<std::uint32_t>(::gettid());
    span s("thread-work");
  });
  t.join();
  stop();
  auto spans = snapshot();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_STREQ(spans[0].name, "main-work");
  EXPECT_EQ(spans[0].thread_id, static_cast<std::uint32_t>(::gettid()));
  EXPECT_EQ(spans[1].thread_id, other_tid);
  for (auto& s : spans) {
    EXPECT_EQ(s.process_id, static_cast<std::uint32_t>(::getpid()));
    EXPECT_LE(s.start_ns, s.end_ns);
  }
}

TEST_F(recorder_test, chrome_json_is_valid_and_has_complete_events_and_thread_names) {
  start();
  set_thread_name("main");
  { span s("step", "lesson", "line\nbreak"); }
  stop();
  std::ostringstream out;
  write_chrome_json(out);
  const auto doc = nlohmann::json::parse(out.str());
  bool found_span = false, found_name = false;
  for (const auto& e : doc.at("traceEvents")) {
    if (e.at("ph") == "X" && e.at("name") == "step") {
      found_span = true;
      EXPECT_EQ(e.at("cat"), "lesson");
      EXPECT_GE(e.at("dur").get<double>(), 0.0);
      EXPECT_EQ(e.at("args").at("detail"), "line\nbreak");
    }
    if (e.at("ph") == "M" && e.at("name") == "thread_name" && e.at("args").at("name") == "main") found_name = true;
  }
  EXPECT_TRUE(found_span);
  EXPECT_TRUE(found_name);
}

TEST_F(recorder_test, file_export_is_atomic_and_reports_bad_paths) {
  start();
  { span s("x"); }
  stop();
  const auto dir = std::filesystem::temp_directory_path() / ("trident-trace-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "t.json").string();
  write_chrome_json_file(path);
  std::ifstream in(path);
  EXPECT_FALSE(nlohmann::json::parse(in).at("traceEvents").empty());
  EXPECT_THROW(write_chrome_json_file((dir / "missing" / "t.json").string()), std::system_error);
  // No temporary left behind by either call.
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trident::trace
