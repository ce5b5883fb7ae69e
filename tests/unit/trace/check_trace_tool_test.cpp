// tools/check_trace.py: the checker every trace test relies on must catch each broken rule.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "trace_check.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

using trident::testing::check_trace_file;

class check_trace_tool : public ::testing::Test {
 protected:
  trident::testing::temp_dir dir{"trident-check-trace"};
  trident::testing::trace_check check(const std::string& text) {
    const auto path = (dir.path / "t.json").string();
    std::ofstream(path) << text;
    return check_trace_file(path);
  }
};

const std::string names = R"({"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"p"}},
{"name":"thread_name","ph":"M","pid":1,"tid":7,"args":{"name":"t"}})";

TEST_F(check_trace_tool, accepts_nested_complete_events_and_paired_async_events) {
  const auto r = check(R"({"traceEvents":[)" + names + R"(,
{"name":"outer","ph":"X","ts":0,"dur":10,"pid":1,"tid":7},
{"name":"inner","ph":"X","ts":2,"dur":3,"pid":1,"tid":7},
{"name":"after","ph":"X","ts":10,"dur":1,"pid":1,"tid":7},
{"name":"a","cat":"c","ph":"b","id":"0x1","ts":1,"pid":1,"tid":7},
{"name":"b","cat":"c","ph":"b","id":"0x2","ts":2,"pid":1,"tid":7},
{"name":"a","cat":"c","ph":"e","id":"0x1","ts":5,"pid":1,"tid":7},
{"name":"b","cat":"c","ph":"e","id":"0x2","ts":6,"pid":1,"tid":7}]})");
  EXPECT_EQ(r.exit_status, 0) << r.problems;
}

TEST_F(check_trace_tool, rejects_invalid_json) {
  const auto r = check(R"({"traceEvents":[)");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.problems.find("not valid JSON"), std::string::npos) << r.problems;
}

TEST_F(check_trace_tool, rejects_complete_events_that_overlap_without_nesting_on_one_lane) {
  const auto r = check(R"({"traceEvents":[)" + names + R"(,
{"name":"first","ph":"X","ts":0,"dur":10,"pid":1,"tid":7},
{"name":"second","ph":"X","ts":5,"dur":10,"pid":1,"tid":7}]})");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.problems.find("overlap without nesting"), std::string::npos) << r.problems;
}

TEST_F(check_trace_tool, rejects_an_async_begin_without_its_end) {
  const auto r = check(R"({"traceEvents":[)" + names + R"(,
{"name":"a","cat":"c","ph":"b","id":"0x1","ts":1,"pid":1,"tid":7},
{"name":"a","cat":"other","ph":"e","id":"0x1","ts":2,"pid":1,"tid":7}]})");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.problems.find("async begin without an end"), std::string::npos) << r.problems;
  EXPECT_NE(r.problems.find("async end without a begin"), std::string::npos) << r.problems;
}

TEST_F(check_trace_tool, rejects_a_lane_without_thread_name_and_a_pid_without_process_name) {
  const auto r = check(R"({"traceEvents":[)" + names + R"(,
{"name":"x","ph":"X","ts":0,"dur":1,"pid":1,"tid":8},
{"name":"y","ph":"X","ts":0,"dur":1,"pid":2,"tid":2}]})");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.problems.find("lane pid=1 tid=8 has no thread_name"), std::string::npos) << r.problems;
  EXPECT_NE(r.problems.find("pid 2 has no process_name"), std::string::npos) << r.problems;
}

}  // namespace
