// proc/lowlevel.hpp: encoded calls run in this process or on a pool, results kept as bytes; and
// process_pool_options::withheld_environment.

#include "trident/proc/lowlevel.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

std::int64_t triple(std::int64_t x) { return 3 * x; }
TRIDENT_TASK(triple);

int refuse(int x) { throw std::domain_error("refused " + std::to_string(x)); }
TRIDENT_TASK(refuse);

/// What the process that runs it sees in `name`, or "(unset)".
std::string environment_of(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr ? value : "(unset)";
}
TRIDENT_TASK(environment_of);

std::int64_t unregistered(std::int64_t x) { return x; }

/// Lets an error of another pool escape, as a task that awaits a nested pool would.
int pass_on(int x) { throw trident::proc::remote_error("std::out_of_range", "inner " + std::to_string(x)); }
TRIDENT_TASK(pass_on);

using namespace trident;
using namespace trident::proc;

TEST(ProcLowlevel, AnEncodedCallRunsHereAndItsResultDecodes) {
  const std::int64_t x = 14;
  const auto call = lowlevel::encode_call(triple, x);
  EXPECT_EQ(call.task_name, "triple");
  EXPECT_EQ(lowlevel::payload_task_name(call.payload), "triple");
  EXPECT_EQ(decode<std::int64_t>(lowlevel::run_encoded(call.kind, call.payload)), 42);
}

TEST(ProcLowlevel, AChunkRunsEveryItem) {
  const std::vector<std::int64_t> items{1, 2, 3};
  const auto call = lowlevel::encode_chunk(triple, items.begin(), items.size());
  EXPECT_EQ(call.kind, lowlevel::call_kind::chunk);
  EXPECT_EQ(decode<std::vector<std::int64_t>>(lowlevel::run_encoded(call.kind, call.payload)),
            (std::vector<std::int64_t>{3, 6, 9}));
}

TEST(ProcLowlevel, TheTasksExceptionPropagatesAndIsDescribed) {
  const int x = 5;
  const auto call = lowlevel::encode_call(refuse, x);
  try {
    (void)lowlevel::run_encoded(call.kind, call.payload);
    FAIL() << "no exception";
  } catch (...) {
    const auto [type, message] = lowlevel::describe_exception(std::current_exception());
    EXPECT_EQ(type, "std::domain_error");
    EXPECT_EQ(message, "refused 5");
  }
}

TEST(ProcLowlevel, BadBytesAndUnregisteredFunctionsAreRefused) {
  EXPECT_THROW((void)lowlevel::payload_task_name("ab"), protocol_error);
  EXPECT_THROW((void)lowlevel::encode_call(unregistered, std::int64_t{1}), unregistered_task_error);
  std::string payload;
  const std::uint32_t n = 7;
  payload.append(reinterpret_cast<const char*>(&n), 4);
  payload += "nothing";
  EXPECT_THROW((void)lowlevel::run_encoded(lowlevel::call_kind::one, payload), unregistered_task_error);
}

TEST(ProcLowlevel, APoolRunsAnEncodedCallAndReturnsTheBytes) {
  process_pool pool(1);
  const std::int64_t x = 7;
  auto call = lowlevel::encode_call(triple, x);
  auto f = lowlevel::submit_encoded(pool, call.kind, std::move(call.payload));
  EXPECT_EQ(decode<std::int64_t>(f.get()), 21);
  const int y = 2;
  auto failing = lowlevel::encode_call(refuse, y);
  auto g = lowlevel::submit_encoded(pool, failing.kind, std::move(failing.payload));
  try {
    (void)g.get();
    FAIL() << "no exception";
  } catch (const remote_error& e) {
    const auto [type, message] = lowlevel::describe_exception(std::current_exception());
    EXPECT_EQ(type, "std::domain_error");  // described as the exception it carries
    EXPECT_EQ(message, "refused 2");
  }
}

TEST(ProcLowlevel, AnExceptionNotFromStdExceptionIsNamedByItsType) {
  const auto [type, message] = lowlevel::describe_exception(std::make_exception_ptr(42));
  EXPECT_EQ(type, "int");
  EXPECT_EQ(message, "(exception not derived from std::exception)");
}

TEST(ProcLowlevel, AWorkerPassesOnARemoteErrorAsTheExceptionItCarries) {
  // The worker describes a task's exception as every carrier does (describe_exception): an error
  // that crossed a process boundary once keeps its original type and message at the second.
  process_pool pool(1);
  try {
    (void)pool.submit(pass_on, 3).get();
    FAIL() << "no exception";
  } catch (const remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::out_of_range");
    EXPECT_EQ(e.message(), "inner 3");
  }
}

TEST(ProcLowlevel, WorkersDoNotInheritWithheldVariables) {
  ::setenv("TRIDENT_TEST_WITHHELD_A", "1", 1);
  ::setenv("TRIDENT_TEST_KEPT", "2", 1);
  process_pool_options options;
  options.workers = 1;
  options.withheld_environment = {"TRIDENT_TEST_WITHHELD_"};
  process_pool pool(options);
  EXPECT_EQ(pool.submit(environment_of, std::string("TRIDENT_TEST_WITHHELD_A")).get(), "(unset)");
  EXPECT_EQ(pool.submit(environment_of, std::string("TRIDENT_TEST_KEPT")).get(), "2");
  ::unsetenv("TRIDENT_TEST_WITHHELD_A");
  ::unsetenv("TRIDENT_TEST_KEPT");
}

}  // namespace
