// The runner every `trident bench` suite measures through (app/bench/runner.hpp), driven with
// fake cases: which rows a case runs and reports, rounds and warm-ups, targets, unknown names.
// No real benchmark runs.

#include "runner.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace trident::bench;

namespace {

/// Records how it was called; measures `base + i` for row i of the rows it is given, plus the round.
class fake_impl final : public implementation {
 public:
  fake_impl(std::string name, double base) : implementation(std::move(name)), base_(base) {}

  void warm_up(const std::vector<row_spec>& rows) override {
    ++warm_ups;
    warm_up_rows = rows.size();
  }

  std::vector<figure> run(const std::vector<row_spec>& rows, std::vector<std::string>&) override {
    std::vector<figure> out;
    run_rows.clear();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      run_rows.push_back(rows[i].name);
      out.push_back(figure{rows[i].name, base_ + static_cast<double>(i) + runs, rows[i].unit});
    }
    ++runs;
    return out;
  }

  int warm_ups = 0;
  std::size_t warm_up_rows = 0;
  int runs = 0;
  std::vector<std::string> run_rows;

 private:
  double base_;
};

bench_options quiet(std::vector<std::string> cases, int repeat = 3) {
  bench_options o;
  o.suite = "fake";
  o.cases = std::move(cases);
  o.repeat = repeat;
  o.progress = false;
  return o;
}

/// A case like the media suite's batch_cpu: one run measures files/s and x realtime.
bench_case two_row_case(std::shared_ptr<implementation> a, std::shared_ptr<implementation> b) {
  bench_case c{{{"batch", "files/s", true}, {"batch_xrt", "x realtime", true}}, "", {}, {}, {}};
  c.impls.push_back(std::move(a));
  c.impls.push_back(std::move(b));
  return c;
}

}  // namespace

TEST(bench_runner, one_row_of_a_two_row_case_runs_the_whole_case_and_reports_that_row) {
  const auto options = quiet({"batch"});
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  auto trident = std::make_shared<fake_impl>("trident", 10);
  auto peer = std::make_shared<fake_impl>("peer", 20);
  runner.add(two_row_case(trident, peer));
  const suite_results out = runner.run();

  // Every run measured both rows ...
  EXPECT_EQ(trident->warm_ups, 1);
  EXPECT_EQ(trident->warm_up_rows, 2U);
  EXPECT_EQ(trident->runs, 3);
  EXPECT_EQ(trident->run_rows, (std::vector<std::string>{"batch", "batch_xrt"}));
  // ... and only the row asked for is reported, for each implementation.
  ASSERT_EQ(out.rows.size(), 2U);
  EXPECT_EQ(out.suite, "fake");
  for (const auto& r : out.rows) EXPECT_EQ(r.case_name, "batch");
  EXPECT_EQ(out.rows[0].impl, "trident");
  EXPECT_EQ(out.rows[0].value, 11);  // rounds 10, 11, 12
  EXPECT_EQ(out.rows[0].low, 10);
  EXPECT_EQ(out.rows[0].high, 12);
  EXPECT_EQ(out.rows[0].runs, 3U);
  EXPECT_EQ(out.rows[1].impl, "peer");
  EXPECT_EQ(out.rows[1].value, 21);
}

TEST(bench_runner, the_other_row_alone_reports_only_that_row) {
  const auto options = quiet({"batch_xrt"}, 1);
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  runner.add(two_row_case(std::make_shared<fake_impl>("trident", 10), std::make_shared<fake_impl>("peer", 20)));
  const suite_results out = runner.run();
  ASSERT_EQ(out.rows.size(), 2U);
  EXPECT_EQ(out.rows[0].case_name, "batch_xrt");
  EXPECT_EQ(out.rows[0].value, 11);  // the case's second row
  EXPECT_EQ(out.rows[0].unit, "x realtime");
}

TEST(bench_runner, an_in_process_case_of_two_values_runs_for_one_of_its_rows) {
  // What `trident bench media --case batch_cpu` did: "trident measured 2 values for a case of 1 rows".
  const auto options = quiet({"batch"}, 1);
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  bench_case c{{{"batch", "files/s", true}, {"batch_xrt", "x realtime", true}}, "", {}, {}, {}};
  c.impls.push_back(std::make_shared<in_process_impl>("trident", [] { return std::vector<double>{4, 40}; }));
  runner.add(std::move(c));
  suite_results out;
  ASSERT_NO_THROW(out = runner.run());
  ASSERT_EQ(out.rows.size(), 1U);
  EXPECT_EQ(out.rows[0].case_name, "batch");
  EXPECT_EQ(out.rows[0].value, 4);
}

TEST(bench_runner, cases_without_a_selected_row_do_not_run) {
  const auto options = quiet({"other"}, 1);
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  auto skipped = std::make_shared<fake_impl>("trident", 1);
  runner.add(two_row_case(skipped, std::make_shared<fake_impl>("peer", 2)));
  bench_case other{{{"other", "s", false}}, "", {}, {}, {}};
  other.impls.push_back(std::make_shared<fake_impl>("trident", 3));
  runner.add(std::move(other));
  runner.add_target({"batch", "trident", "peer", 2, ">=2x peer"});
  runner.add_target({"other", "trident", "", 5, "<=5 s"});
  const suite_results out = runner.run();
  EXPECT_EQ(skipped->warm_ups, 0);
  EXPECT_EQ(skipped->runs, 0);
  ASSERT_EQ(out.rows.size(), 1U);
  EXPECT_EQ(out.rows[0].case_name, "other");
  EXPECT_FALSE(out.rows[0].higher_is_better);
  // Only the targets of the cases measured.
  ASSERT_EQ(out.targets.size(), 1U);
  EXPECT_EQ(out.targets[0].case_name, "other");
}

TEST(bench_runner, an_unknown_case_is_refused_before_anything_runs) {
  const auto options = quiet({"nosuch"});
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  auto impl = std::make_shared<fake_impl>("trident", 1);
  runner.add(two_row_case(impl, std::make_shared<fake_impl>("peer", 2)));
  try {
    (void)runner.run();
    FAIL() << "no error for an unknown case";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("valid: batch, batch_xrt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(impl->warm_ups, 0);
}

TEST(bench_runner, an_unavailable_implementation_is_noted_and_left_out) {
  class missing final : public implementation {
   public:
    missing() : implementation("gone") {}
    void warm_up(const std::vector<row_spec>&) override { throw unavailable_error("not installed"); }
    std::vector<figure> run(const std::vector<row_spec>&, std::vector<std::string>&) override {
      ADD_FAILURE() << "ran after it said it cannot";
      return {};
    }
  };
  const auto options = quiet({});
  suite_runner runner("fake", options, std::chrono::milliseconds(0));
  runner.add(two_row_case(std::make_shared<fake_impl>("trident", 1), std::make_shared<missing>()));
  const suite_results out = runner.run();
  EXPECT_EQ(out.rows.size(), 2U);  // trident's two rows
  ASSERT_EQ(out.notes.size(), 1U);
  EXPECT_NE(out.notes[0].find("gone: not installed"), std::string::npos);
}
