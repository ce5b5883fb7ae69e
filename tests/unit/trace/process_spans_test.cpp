#include "trident/trace/process_spans.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "trident/trace/recorder.hpp"

namespace trident::trace {
namespace {

class process_spans_test : public ::testing::Test {
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

TEST_F(process_spans_test, taking_spans_empties_the_recorder_and_importing_restores_them_with_their_times) {
  start();
  const auto begin = now_ns();
  record("task", "process_pool", begin, begin + 5000, "square");
  record_async("step", "coroutine", begin + 100, begin + 900);
  stop();
  const std::string packed = take_spans_for_parent();
  ASSERT_FALSE(packed.empty());
  EXPECT_TRUE(snapshot().empty()) << "the spans left with the pack";

  import_spans(packed);
  const auto spans = snapshot();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_STREQ(spans[0].name, "task");
  EXPECT_STREQ(spans[0].category, "process_pool");
  EXPECT_EQ(spans[0].detail, "square");
  EXPECT_EQ(spans[0].start_ns, begin);
  EXPECT_EQ(spans[0].end_ns, begin + 5000);
  EXPECT_EQ(spans[0].async_id, 0u);
  EXPECT_EQ(spans[0].process_id, static_cast<std::uint32_t>(::getpid()));
  EXPECT_STREQ(spans[1].name, "step");
  EXPECT_NE(spans[1].async_id, 0u);
}

TEST_F(process_spans_test, nothing_recorded_packs_to_nothing) { EXPECT_TRUE(take_spans_for_parent().empty()); }

TEST_F(process_spans_test, a_corrupt_or_truncated_pack_is_rejected_and_adds_nothing) {
  start();
  record("task", "process_pool", now_ns(), now_ns() + 10);
  stop();
  const std::string packed = take_spans_for_parent();
  EXPECT_THROW(import_spans(packed.substr(0, packed.size() - 3)), std::invalid_argument);
  EXPECT_THROW(import_spans("not a pack of spans"), std::invalid_argument);
  std::string huge_count = packed;
  // The span count sits just before the first span; claim four billion spans.
  const std::size_t first_span = packed.size() - (4 + 8 + 8 + 8 + 4 + 4 + 4 + 12 + 4);
  std::memset(huge_count.data() + first_span - 4, 0xff, 4);
  EXPECT_THROW(import_spans(huge_count), std::invalid_argument);
  EXPECT_TRUE(snapshot().empty());
}

}  // namespace
}  // namespace trident::trace
