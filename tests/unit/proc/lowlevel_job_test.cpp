// proc/lowlevel/job.hpp and proc/lowlevel/encoded_call.hpp: the promise-backed job every carrier
// of registered tasks completes (the process pool, the cluster layer, submit_encoded), the
// decoding of a result into its future, and the payload's layout read back.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "trident/proc/lowlevel.hpp"

namespace {

std::int64_t add_three(std::int64_t x, std::int64_t y, std::int64_t z) { return x + y + z; }
TRIDENT_TASK(add_three);

std::int64_t halve(std::int64_t x) { return x / 2; }
TRIDENT_TASK(halve);

using namespace trident;
using namespace trident::proc;

TEST(ProcLowlevelPayload, APayloadSplitsIntoTheTaskNameAndItsArguments) {
  const auto call = lowlevel::encode_call(add_three, std::int64_t{1}, std::int64_t{2}, std::int64_t{3});
  EXPECT_EQ(call.kind, lowlevel::call_kind::one);
  EXPECT_EQ(call.calls, 1u);
  const auto parts = lowlevel::split_payload(call.payload);
  EXPECT_EQ(parts.task_name, "add_three");
  EXPECT_EQ(lowlevel::payload_task_name(call.payload), "add_three");
  EXPECT_EQ((decode<std::tuple<std::int64_t, std::int64_t, std::int64_t>>(parts.arguments)), std::make_tuple(1, 2, 3));
}

TEST(ProcLowlevelPayload, AChunksPayloadHoldsOneArgumentTuplePerCall) {
  const std::vector<std::int64_t> items{10, 20, 30, 40};
  const auto call = lowlevel::encode_chunk(halve, items.begin(), items.size());
  EXPECT_EQ(call.kind, lowlevel::call_kind::chunk);
  EXPECT_EQ(call.calls, 4u);
  const auto parts = lowlevel::split_payload(call.payload);
  EXPECT_EQ(parts.task_name, "halve");
  const auto arguments = decode<std::vector<std::tuple<std::int64_t>>>(parts.arguments);
  ASSERT_EQ(arguments.size(), 4u);
  EXPECT_EQ(std::get<0>(arguments[3]), 40);
}

TEST(ProcLowlevelPayload, BytesWithoutAWholeNameAreAProtocolError) {
  EXPECT_THROW((void)lowlevel::split_payload(""), protocol_error);
  EXPECT_THROW((void)lowlevel::split_payload("abc"), protocol_error);
  std::string payload;
  const std::uint32_t n = 9;  // a name longer than what follows
  payload.append(reinterpret_cast<const char*>(&n), sizeof n);
  payload += "short";
  EXPECT_THROW((void)lowlevel::split_payload(payload), protocol_error);
  // A name and no arguments is a whole payload (a task without parameters).
  std::string bare;
  const std::uint32_t four = 4;
  bare.append(reinterpret_cast<const char*>(&four), sizeof four);
  bare += "name";
  const auto parts = lowlevel::split_payload(bare);
  EXPECT_EQ(parts.task_name, "name");
  EXPECT_TRUE(parts.arguments.empty());
}

TEST(ProcLowlevelJob, AJobTakesTheCallAndItsFutureGetsTheDecodedResult) {
  lowlevel::promised_job<std::int64_t> job(lowlevel::encode_call(halve, std::int64_t{84}));
  EXPECT_EQ(job.kind, lowlevel::call_kind::one);
  EXPECT_EQ(job.task_name, "halve");
  EXPECT_EQ(lowlevel::payload_task_name(job.payload), "halve");
  EXPECT_EQ(job.calls, 1u);
  EXPECT_EQ(job.timeout.count(), 0);
  auto f = job.take_future();
  EXPECT_FALSE(f.ready());
  EXPECT_TRUE(job.claim());
  EXPECT_FALSE(job.claim());  // once
  job.complete(encode(std::int64_t{42}));
  EXPECT_EQ(f.get(), 42);
}

TEST(ProcLowlevelJob, AChunkJobCountsItsCalls) {
  const std::vector<std::int64_t> items{2, 4, 6};
  lowlevel::promised_job<std::vector<std::int64_t>> job(lowlevel::encode_chunk(halve, items.begin(), items.size()));
  EXPECT_EQ(job.kind, lowlevel::call_kind::chunk);
  EXPECT_EQ(job.calls, 3u);
  auto f = job.take_future();
  ASSERT_TRUE(job.claim());
  job.complete(lowlevel::run_encoded(job.kind, job.payload));
  EXPECT_EQ(f.get(), (std::vector<std::int64_t>{1, 2, 3}));
}

TEST(ProcLowlevelJob, AVoidResultNeedsNoBytesAndAnEncodedResultKeepsThem) {
  lowlevel::promised_job<void> nothing;
  auto done = nothing.take_future();
  ASSERT_TRUE(nothing.claim());
  nothing.complete({});
  EXPECT_NO_THROW(done.get());

  lowlevel::promised_job<lowlevel::encoded_result> raw;
  static_assert(std::is_same_v<decltype(raw.take_future()), exec::future<std::string>>);
  auto bytes = raw.take_future();
  ASSERT_TRUE(raw.claim());
  const std::string encoded = encode(std::string("kept as bytes"));
  raw.complete(encoded);
  EXPECT_EQ(bytes.get(), encoded);

  EXPECT_EQ(lowlevel::decode_result<lowlevel::encoded_result>("abc"), "abc");
  EXPECT_EQ(lowlevel::decode_result<std::string>(encode(std::string("decoded"))), "decoded");
}

TEST(ProcLowlevelJob, ResultBytesThatAreNoValueFailTheFuture) {
  lowlevel::promised_job<std::string> job;
  auto f = job.take_future();
  ASSERT_TRUE(job.claim());
  job.complete("\x01");  // a string's length needs 8 bytes
  EXPECT_THROW((void)f.get(), protocol_error);
}

TEST(ProcLowlevelJob, ACallerCancelsUntilTheCarrierClaimsTheJob) {
  lowlevel::promised_job<int> queued;
  auto f = queued.take_future();
  EXPECT_TRUE(f.cancel());
  EXPECT_FALSE(queued.claim());  // the carrier drops it
  queued.complete(encode(1));    // harmless: the cancellation stands
  EXPECT_THROW((void)f.get(), cancelled_error);

  lowlevel::promised_job<int> running;
  auto g = running.take_future();
  ASSERT_TRUE(running.claim());
  EXPECT_FALSE(g.cancel());  // claimed: the call runs to its end
  running.complete(encode(7));
  EXPECT_EQ(g.get(), 7);
}

TEST(ProcLowlevelJob, TheCarriersCancelFailsAClaimedJobWithItsReason) {
  lowlevel::promised_job<int> unclaimed;
  auto f = unclaimed.take_future();
  unclaimed.cancel("pool shut down");
  EXPECT_THROW((void)f.get(), cancelled_error);

  lowlevel::promised_job<int> claimed;
  auto g = claimed.take_future();
  ASSERT_TRUE(claimed.claim());
  claimed.cancel("pool terminated");
  try {
    (void)g.get();
    FAIL() << "no exception";
  } catch (const cancelled_error& e) {
    EXPECT_NE(std::string(e.what()).find("pool terminated"), std::string::npos) << e.what();
  }
}

TEST(ProcLowlevelJob, TheFirstSettlementStands) {
  lowlevel::promised_job<int> job;
  auto f = job.take_future();
  ASSERT_TRUE(job.claim());
  job.complete(encode(5));
  job.fail(std::make_exception_ptr(std::runtime_error("late")));
  job.cancel("late");
  job.complete(encode(6));
  EXPECT_EQ(f.get(), 5);

  lowlevel::promised_job<int> failed;
  auto g = failed.take_future();
  ASSERT_TRUE(failed.claim());
  failed.fail(std::make_exception_ptr(std::runtime_error("first")));
  failed.complete(encode(6));
  EXPECT_THROW((void)g.get(), std::runtime_error);
}

TEST(ProcLowlevelJob, AJobDestroyedUnsettledBreaksItsPromise) {
  exec::future<int> f;
  {
    lowlevel::promised_job<int> job;
    f = job.take_future();
    ASSERT_TRUE(job.claim());
  }
  EXPECT_THROW((void)f.get(), broken_promise_error);
}

/// A carrier's own job class: what it keeps beside the call, here a count of destroyed jobs.
class counted_job : public lowlevel::job {
 public:
  using lowlevel::job::job;
  ~counted_job() override {
    if (destroyed != nullptr) ++*destroyed;
  }
  int* destroyed = nullptr;
};

TEST(ProcLowlevelJob, ACarriersThreadSettlesJobsOfEveryResultTypeFromOneQueue) {
  int destroyed = 0;
  std::vector<std::unique_ptr<counted_job>> queue;
  std::vector<exec::future<std::int64_t>> numbers;
  std::vector<exec::future<std::string>> texts;
  for (std::int64_t i = 0; i < 50; ++i) {
    auto number =
        std::make_unique<lowlevel::promised_job<std::int64_t, counted_job>>(lowlevel::encode_call(halve, 2 * i));
    numbers.push_back(number->take_future());
    auto text = std::make_unique<lowlevel::promised_job<lowlevel::encoded_result, counted_job>>();
    texts.push_back(text->take_future());
    number->destroyed = &destroyed;
    text->destroyed = &destroyed;
    queue.push_back(std::move(number));
    queue.push_back(std::move(text));
  }
  numbers[7].cancel();  // withdrawn before the carrier reaches it
  std::thread carrier([&queue] {
    for (auto& j : queue) {
      if (!j->claim()) continue;
      if (j->kind == lowlevel::call_kind::one && !j->payload.empty()) {
        j->complete(lowlevel::run_encoded(j->kind, j->payload));
      } else {
        j->complete("raw");
      }
    }
    queue.clear();
  });
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (i == 7) {
      EXPECT_THROW((void)numbers[i].get(), cancelled_error);
    } else {
      EXPECT_EQ(numbers[i].get(), static_cast<std::int64_t>(i));
    }
    EXPECT_EQ(texts[i].get(), "raw");
  }
  carrier.join();
  EXPECT_EQ(destroyed, 100);
}

}  // namespace
