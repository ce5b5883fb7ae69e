// Task registration: what a user is told when a function is not registered, and that
// registered tasks are named by their TRIDENT_TASK name in errors.

#include "trident/proc/task_registry.hpp"

#include <gtest/gtest.h>

#include <string>

#include "trident/proc/errors.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

int task_test_never_registered(int x) { return x + 1; }

int task_test_registered(int x) { return x * 3; }
TRIDENT_TASK(task_test_registered);

std::string unregistered_message(trident::proc::detail::any_fn fn) {
  try {
    (void)trident::proc::detail::task_name_of(fn);
  } catch (const trident::proc::unregistered_task_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(task_registry, unregistered_function_error_says_how_to_register_it) {
  const std::string what =
      unregistered_message(reinterpret_cast<trident::proc::detail::any_fn>(&task_test_never_registered));
  EXPECT_NE(what.find("is not registered as a task"), std::string::npos) << what;
  EXPECT_NE(what.find("TRIDENT_TASK("), std::string::npos) << what;
  EXPECT_NE(what.find("at namespace scope"), std::string::npos) << what;
}

// `+[](int x) { ... }` compiles (a function pointer) but has no name a worker could look up:
// the error must say that a lambda cannot be a task, not only print an address.
TEST(task_registry, lambda_turned_into_a_function_pointer_is_told_to_become_a_named_function) {
  auto* fn = +[](int x) { return x; };
  const std::string what = unregistered_message(reinterpret_cast<trident::proc::detail::any_fn>(fn));
  EXPECT_NE(what.find("lambda"), std::string::npos) << what;
  EXPECT_NE(what.find("named function"), std::string::npos) << what;
}

TEST(task_registry, registered_function_is_known_by_its_macro_name) {
  EXPECT_EQ(trident::proc::detail::task_name_of(reinterpret_cast<trident::proc::detail::any_fn>(&task_test_registered)),
            "task_test_registered");
  ASSERT_NE(trident::proc::detail::find_task("task_test_registered"), nullptr);
}

}  // namespace
