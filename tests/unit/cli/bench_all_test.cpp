// `trident bench all` (app/commands/shared_commands.hpp, run_all_bench_suites) with a fake suite
// in this process and fake executables for the forwarded ones: each suite runs, a forwarded one
// hands its results back through --results, one page holds them all, a missing executable is
// skipped, and a forwarded suite stopped by a signal stops the run. No benchmark runs.

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "exit_codes.hpp"
#include "runner.hpp"
#include "shared_commands.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace trident;

namespace {

int fake_suite(const bench::bench_options& options) {
  bench::suite_runner runner("fake", options, std::chrono::milliseconds(0));
  bench::bench_case c{{{"one", "s", false}}, "", {}, {}, {}};
  c.impls.push_back(std::make_shared<bench::in_process_impl>("trident", [] { return 1.0; }));
  c.impls.push_back(std::make_shared<bench::in_process_impl>("peer", [] { return 2.0; }));
  runner.add(std::move(c));
  return bench::report_suite_results(runner.run(), options);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// An executable beside this test program (where `trident bench all` looks), removed at the end.
struct fake_executable {
  fs::path path;
  fake_executable(const std::string& name, const std::string& script) {
    path = fs::read_symlink("/proc/self/exe").parent_path() / (name + "-" + std::to_string(::getpid()));
    std::ofstream(path) << "#!/bin/sh\n" << script;
    fs::permissions(path, fs::perms::owner_all);
  }
  ~fake_executable() { fs::remove(path); }
};

// Writes one suite's results document where --results says, as a suite's executable does.
constexpr const char* writes_results = R"(out=""
while [ $# -gt 0 ]; do
  if [ "$1" = --results ]; then out="$2"; shift; fi
  shift
done
[ -n "$out" ] || exit 3
printf '%s' '{"suite":"other","rows":[{"suite":"other","case":"two","impl":"trident","value":3,"unit":"ms",
"low":3,"high":3,"runs":1,"better":"lower"}],"notes":[],"targets":[]}' > "$out"
)";

}  // namespace

TEST(bench_all, runs_every_suite_and_draws_one_page_of_them_all) {
  trident::testing::temp_dir dir{"trident-bench-all"};
  const fake_executable other("trident-fake-bench", writes_results);
  const std::string exe = other.path.filename().string();
  const std::array<cli::forwarded_command, 2> forwarded{
      cli::forwarded_command{"other", exe.c_str(), "", true},
      cli::forwarded_command{"gone", "trident-no-such-program", "", true},
  };
  const std::array suites{bench::suite{"fake", &fake_suite}};
  bench::bench_options options;
  options.repeat = 1;
  options.progress = false;
  options.report = (dir.path / "all.html").string();
  EXPECT_EQ(cli::run_all_bench_suites(options, suites, forwarded), 0);
  const std::string page = read_text(dir.path / "all.html");
  EXPECT_NE(page.find(R"(<figure class="case" data-suite="fake" data-case="one">)"), std::string::npos);
  EXPECT_NE(page.find(R"(<figure class="case" data-suite="other" data-case="two">)"), std::string::npos);
  EXPECT_NE(page.find("trident 2.00×"), std::string::npos);  // fake's peer takes twice Trident's time
  // The forwarded suite's results file is gone.
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path())) {
    EXPECT_NE(e.path().filename().string(), "trident-bench-" + std::to_string(::getpid()) + "-other.json");
  }
}

TEST(bench_all, a_forwarded_suite_stopped_by_a_signal_stops_the_run) {
  trident::testing::temp_dir dir{"trident-bench-all"};
  const fake_executable stopped("trident-fake-stopped", "exit 130\n");
  const std::string exe = stopped.path.filename().string();
  const std::array<cli::forwarded_command, 1> forwarded{cli::forwarded_command{"other", exe.c_str(), "", true}};
  const std::array suites{bench::suite{"fake", &fake_suite}};
  bench::bench_options options;
  options.repeat = 1;
  options.progress = false;
  options.report = (dir.path / "all.html").string();
  EXPECT_EQ(cli::run_all_bench_suites(options, suites, forwarded), 130);
  EXPECT_FALSE(fs::exists(dir.path / "all.html"));
}

TEST(bench_all, refuses_a_case_which_belongs_to_one_suite) {
  bench::bench_options options;
  options.cases = {"one"};
  EXPECT_THROW((void)cli::run_all_bench_suites(options, {}, {}), cli::usage_error);
}
