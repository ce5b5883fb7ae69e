// How a lost rank's message lists its tasks (trident/cluster/detail/task_counts.hpp): counted per
// name, so that a rank that held eight chunks of one task is readable. No MPI needed.

#include "trident/cluster/detail/task_counts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using trident::cluster::detail::count_task_names;

// Regression (issue #22, item 12): the message listed "process_number, process_number, …", the
// name once per task, eight times.
TEST(cluster_task_counts, many_tasks_of_one_name_are_counted) {
  const std::vector<std::string> names(8, "process_number");
  EXPECT_EQ(count_task_names(names), "process_number ×8");
}

TEST(cluster_task_counts, names_are_sorted_and_a_single_task_has_no_count) {
  EXPECT_EQ(count_task_names({"sleepy_pid", "kills_its_process", "sleepy_pid", "analyse", "sleepy_pid"}),
            "analyse, kills_its_process, sleepy_pid ×3");
  EXPECT_EQ(count_task_names({"kills_its_process"}), "kills_its_process");
  EXPECT_EQ(count_task_names({}), "");
}
