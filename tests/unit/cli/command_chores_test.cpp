// The chores `trident fetch` and `trident transcribe` share: the summary table, the `-i` list and
// the output folder check.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "exit_codes.hpp"
#include "input_list.hpp"
#include "output_folder.hpp"
#include "run_summary.hpp"
#include "trident/http/fetch.hpp"

namespace trident::cli {
namespace {

namespace fs = std::filesystem;

/// A folder of the test's own, removed at the end.
struct scratch_dir {
  fs::path path = fs::temp_directory_path() / ("trident-chores-" + std::to_string(::getpid()));
  scratch_dir() { fs::create_directories(path); }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// Prints a row "item N" for each of `items` items, item N succeeding unless `failed(N)`.
template <class Failed>
std::string table_of(std::size_t items, Failed failed) {
  testing::internal::CaptureStdout();
  summary_rows rows(items, "HEADER");
  for (std::size_t i = 0; i < items; ++i) {
    if (rows.begin_row(!failed(i))) std::printf("item %zu\n", i);
  }
  return testing::internal::GetCapturedStdout();
}

TEST(command_chores, a_short_run_gets_a_row_per_item_under_one_header) {
  EXPECT_EQ(table_of(3, [](std::size_t i) { return i == 1; }), "HEADER\nitem 0\nitem 1\nitem 2\n");
}

TEST(command_chores, a_long_run_gets_rows_only_for_what_did_not_succeed) {
  const std::size_t many = summary_rows::all_rows_up_to + 1;
  EXPECT_EQ(table_of(many, [](std::size_t i) { return i == 4 || i == 20; }), "HEADER\nitem 4\nitem 20\n");
  EXPECT_EQ(table_of(many, [](std::size_t) { return false; }), "");  // no row, no header
}

TEST(command_chores, the_tally_counts_each_outcome_and_says_it_in_the_totals_line) {
  outcome_tally tally;
  for (auto o : {http::fetch_outcome::ok, http::fetch_outcome::ok, http::fetch_outcome::failed,
                 http::fetch_outcome::skipped, http::fetch_outcome::cancelled, http::fetch_outcome::ok}) {
    tally.add(o);
  }
  EXPECT_EQ(tally.text(6, "URLs"), "6 URLs: 3 ok, 1 skipped, 1 failed, 1 cancelled");
}

TEST(command_chores, an_input_list_reads_its_file_and_names_stdin_as_such) {
  scratch_dir dir;
  const fs::path file = dir.path / "list.txt";
  std::ofstream(file) << "first\nsecond\n";
  input_list list(file.string(), "URL list");
  EXPECT_EQ(list.name(), file.string());
  std::string line;
  ASSERT_TRUE(std::getline(list.stream(), line));
  EXPECT_EQ(line, "first");
  EXPECT_EQ(input_list("-", "URL list").name(), "stdin");
}

TEST(command_chores, a_list_that_cannot_be_read_is_a_usage_error_naming_it_and_why) {
  try {
    input_list list("/nonexistent/trident/list.txt", "input list");
    FAIL() << "opened a list that does not exist";
  } catch (const usage_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read input list '/nonexistent/trident/list.txt': No such file or directory");
  }
}

TEST(command_chores, the_output_folder_is_made_with_its_parents) {
  scratch_dir dir;
  const fs::path out = dir.path / "a" / "b";
  prepare_output_folder(out);
  EXPECT_TRUE(fs::is_directory(out));
  prepare_output_folder(out);  // an existing folder is fine
}

TEST(command_chores, an_output_folder_that_is_a_file_is_a_usage_error_with_its_reason) {
  scratch_dir dir;
  const fs::path file = dir.path / "taken";
  std::ofstream(file) << "x";
  try {
    prepare_output_folder(file);
    FAIL() << "accepted a file as the output folder";
  } catch (const usage_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot save into output folder '" + file.string() + "'"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace trident::cli
