// proc::detail::payload_arena: the pool's shared memory for large task arguments, on its own and
// under a pool (sizes around the thresholds, a full arena, crashes, cancellation, descriptors).

#include "trident/proc/detail/payload_arena.hpp"

#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/process_pool.hpp"

namespace proc = trident::proc;
using proc::detail::payload_arena;

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

/// FNV-1a of the bytes: proves the task saw exactly what the caller sent.
std::uint64_t digest_of(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h ^ s.size();
}

std::uint64_t digest(std::string s) { return digest_of(s); }
TRIDENT_TASK(digest);

/// Two large arguments and a small one in one task.
std::uint64_t digest_pair(std::string a, int salt, std::vector<std::uint32_t> b) {
  std::string all = a;
  all.append(reinterpret_cast<const char*>(b.data()), b.size() * sizeof(std::uint32_t));
  return digest_of(all) + static_cast<std::uint64_t>(salt);
}
TRIDENT_TASK(digest_pair);

/// A payload of this length kills its worker (SIGKILL): the crash is charged to its task.
constexpr std::size_t crash_length = (std::size_t{1} << 20) + 17;

std::uint64_t digest_or_crash(std::string s) {
  if (s.size() == crash_length) ::raise(SIGKILL);
  return digest_of(s);
}
TRIDENT_TASK(digest_or_crash);

/// Holds its worker until the file `path` exists (the test's way to keep tasks queued).
int wait_for_file(std::string path) {
  while (!std::filesystem::exists(path)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 1;
}
TRIDENT_TASK(wait_for_file);

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 12)) & 0xff);
  return s;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

/// Open descriptors that are payload arenas.
std::size_t open_arenas() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec).string();
    n += !ec && target.find("trident-payloads") != std::string::npos;
  }
  return n;
}

/// The pool frees a job (and its slot) on its I/O thread just after completing its future:
/// waits, within a generous bound, until no slot is in use; returns how many still are.
std::size_t settled_slots(const payload_arena& arena) {
  for (int i = 0; i < 2000 && arena.statistics().slots_in_use != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return arena.statistics().slots_in_use;
}

std::string temp_path(const char* what) {
  return (std::filesystem::temp_directory_path() /
          ("trident-arena-" + std::string(what) + "-" + std::to_string(::getpid())))
      .string();
}

}  // namespace

// ---- the allocator ----

TEST(payload_arena, creates_nothing_before_the_first_allocation) {
  const std::size_t before = open_arenas();
  auto arena = std::make_shared<payload_arena>(4 * MiB);
  EXPECT_EQ(arena->fd(), -1);
  EXPECT_EQ(open_arenas(), before);
  {
    auto slot = arena->allocate(100'000);
    ASSERT_TRUE(slot);
    EXPECT_GE(arena->fd(), 0);
    EXPECT_EQ(open_arenas(), before + 1);
  }
  arena.reset();
  EXPECT_EQ(open_arenas(), before);
}

TEST(payload_arena, slots_are_whole_pages_first_fit_and_coalesce_when_freed) {
  auto arena = std::make_shared<payload_arena>(4 * MiB);
  auto a = arena->allocate(1);
  auto b = arena->allocate(payload_arena::granule + 1);
  auto c = arena->allocate(payload_arena::granule);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a.offset(), 0u);
  EXPECT_EQ(b.offset(), payload_arena::granule);
  EXPECT_EQ(c.offset(), 3 * payload_arena::granule);
  EXPECT_EQ(b.size(), payload_arena::granule + 1);
  EXPECT_EQ(arena->statistics().bytes_in_use, 4 * payload_arena::granule);
  b.reset();
  a.reset();  // a and b's pages join into one free range of three pages
  auto d = arena->allocate(3 * payload_arena::granule);
  ASSERT_TRUE(d);
  EXPECT_EQ(d.offset(), 0u);
  d.reset();
  c.reset();
  EXPECT_EQ(arena->statistics().slots_in_use, 0u);
  // Everything free again, as one range: the largest slot it gives fits at offset 0.
  auto e = arena->allocate(2 * MiB);
  ASSERT_TRUE(e);
  EXPECT_EQ(e.offset(), 0u);
}

TEST(payload_arena, the_bytes_written_are_what_a_worker_view_reads) {
  auto arena = std::make_shared<payload_arena>(4 * MiB);
  auto slot = arena->allocate(70'000);
  ASSERT_TRUE(slot);
  const std::string bytes = pattern(70'000, 3);
  std::memcpy(slot.data(), bytes.data(), bytes.size());
  const auto view = proc::detail::payload_arena_view::attach(arena->fd());
  EXPECT_EQ(view.bytes(slot.offset(), slot.size()), bytes);
  EXPECT_THROW((void)view.bytes(4 * MiB - 10, 11), proc::protocol_error);
  EXPECT_THROW((void)view.bytes(~std::uint64_t{0}, 2), proc::protocol_error);
}

TEST(payload_arena, refuses_more_than_half_of_it_and_what_does_not_fit) {
  auto arena = std::make_shared<payload_arena>(4 * MiB, std::chrono::milliseconds(1));
  EXPECT_FALSE(arena->allocate(2 * MiB + 1));
  EXPECT_FALSE(arena->allocate(0));
  auto a = arena->allocate(2 * MiB);
  auto b = arena->allocate(2 * MiB);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(arena->allocate(1));             // full: waits its patience, then refuses
  EXPECT_FALSE(arena->allocate(1));             // stalled: refuses at once until a slot is freed
  EXPECT_EQ(arena->statistics().refusals, 2u);  // the two that found it full
  a.reset();
  EXPECT_TRUE(arena->allocate(1));
}

TEST(payload_arena, a_full_arena_hands_a_slot_to_a_waiter_when_one_is_freed) {
  auto arena = std::make_shared<payload_arena>(4 * MiB, std::chrono::minutes(1));
  auto a = arena->allocate(2 * MiB);
  auto b = arena->allocate(2 * MiB);
  ASSERT_TRUE(a && b);
  std::thread freer([&] { a.reset(); });
  auto c = arena->allocate(MiB);  // waits for `freer` (the patience is far longer than it needs)
  freer.join();
  EXPECT_TRUE(c);
}

TEST(payload_arena, the_pools_own_thread_never_waits_for_a_slot) {
  // The I/O thread frees the slots: waiting there for one (a continuation that submits to its
  // own pool) could only time out. With a minute of patience, a wait would outlast the test's
  // time limit.
  auto arena = std::make_shared<payload_arena>(4 * MiB, std::chrono::minutes(1));
  arena->never_wait_on(std::this_thread::get_id());
  auto a = arena->allocate(2 * MiB);
  auto b = arena->allocate(2 * MiB);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(arena->allocate(MiB));
  EXPECT_EQ(arena->statistics().refusals, 1u);
}

TEST(payload_arena, a_ring_entry_names_its_place_in_the_arena) {
  using namespace proc::detail;
  int fd = -1;
  auto memory = channel_memory::create(fd);
  auto writer = memory.task_writer();
  auto reader = memory.task_reader();
  ASSERT_TRUE(writer.try_add_arena(frame_kind::task, 42, 8192, 123456));
  writer.publish();
  auto f = reader.next();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->in_arena);
  EXPECT_FALSE(f->on_socket);
  EXPECT_EQ(f->id, 42u);
  ASSERT_EQ(f->payload.size(), arena_reference_size);
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::memcpy(&offset, f->payload.data(), 8);
  std::memcpy(&length, f->payload.data() + 8, 8);
  EXPECT_EQ(offset, 8192u);
  EXPECT_EQ(length, 123456u);
  ::close(fd);
}

// ---- under a pool ----

TEST(payload_arena, arguments_of_every_size_around_the_thresholds_arrive_intact) {
  proc::process_pool pool(proc::process_pool_options{.workers = 2, .payload_arena_bytes = 8 * MiB});
  const std::size_t t = proc::detail::shm_threshold;
  const std::vector<std::size_t> sizes = {0,           1,         t - 100, t - 40, t - 30,  t - 1,         t,
                                          t + 1,       2 * t + 3, MiB - 1, MiB,    MiB + 1, 4 * MiB - 100, 4 * MiB,
                                          4 * MiB + 1, 6 * MiB};
  std::vector<trident::exec::future<std::uint64_t>> fs;
  std::vector<std::uint64_t> want;
  unsigned seed = 0;
  for (std::size_t size : sizes) {
    const std::string s = pattern(size, ++seed);
    want.push_back(digest_of(s));
    fs.push_back(pool.submit(digest, s));
  }
  for (std::size_t i = 0; i < fs.size(); ++i) EXPECT_EQ(fs[i].get(), want[i]) << "size " << sizes[i];
  EXPECT_GT(pool.payload_arena()->statistics().allocations, 0u);  // the arena was used
  EXPECT_EQ(settled_slots(*pool.payload_arena()), 0u);
}

TEST(payload_arena, several_arguments_converted_or_moved_and_map_chunks_go_through_the_arena) {
  proc::process_pool pool(2);
  const std::string a = pattern(300'000, 1);
  std::vector<std::uint32_t> b(50'000);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint32_t>(i * 2654435761u);
  std::string all = a;
  all.append(reinterpret_cast<const char*>(b.data()), b.size() * sizeof(std::uint32_t));
  EXPECT_EQ(pool.submit(digest_pair, a, 5, b).get(), digest_of(all) + 5);
  std::string moved = a;
  EXPECT_EQ(pool.submit(digest, std::move(moved)).get(), digest_of(a));
  const std::string big_literal(100'000, 'q');
  EXPECT_EQ(pool.submit(digest, big_literal.c_str()).get(), digest_of(big_literal));  // converted to std::string

  std::vector<std::string> items;
  for (unsigned i = 0; i < 24; ++i) items.push_back(pattern(70'000 + i * 1000, i));
  const auto chunked = pool.map(digest, items, 3);
  const auto one_by_one = pool.map(digest, items, 1);
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(chunked[i], digest_of(items[i])) << i;
    EXPECT_EQ(one_by_one[i], digest_of(items[i])) << i;
  }
  EXPECT_GE(pool.payload_arena()->statistics().allocations, 3u + 8u + 24u);
}

TEST(payload_arena, more_large_arguments_in_flight_than_the_arena_holds_all_complete) {
  proc::process_pool pool(proc::process_pool_options{.workers = 2, .payload_arena_bytes = 4 * MiB});
  std::vector<std::string> items;
  for (unsigned i = 0; i < 60; ++i) items.push_back(pattern(MiB + i, i));
  const auto out = pool.map(digest, items, 1);
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(out[i], digest_of(items[i])) << i;
  EXPECT_EQ(settled_slots(*pool.payload_arena()), 0u);
}

TEST(payload_arena, a_full_arena_held_by_waiting_tasks_never_blocks_the_caller_for_good) {
  // The only worker waits for a file the caller writes after submitting: the arena fills with
  // queued jobs, and further submits must still return (their payloads take the memfd route).
  const std::string go = temp_path("go");
  std::filesystem::remove(go);
  proc::process_pool pool(proc::process_pool_options{.workers = 1, .payload_arena_bytes = 2 * MiB});
  auto blocker = pool.submit(wait_for_file, go);
  std::vector<trident::exec::future<std::uint64_t>> fs;
  std::vector<std::uint64_t> want;
  for (unsigned i = 0; i < 8; ++i) {
    const std::string s = pattern(600'000, i);
    want.push_back(digest_of(s));
    fs.push_back(pool.submit(digest, s));
  }
  std::FILE* f = std::fopen(go.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_EQ(blocker.get(), 1);
  for (std::size_t i = 0; i < fs.size(); ++i) EXPECT_EQ(fs[i].get(), want[i]) << i;
  EXPECT_GT(pool.payload_arena()->statistics().refusals, 0u);
  EXPECT_EQ(settled_slots(*pool.payload_arena()), 0u);
  std::filesystem::remove(go);
}

TEST(payload_arena, a_crash_fails_its_task_and_the_others_are_resent_with_their_bytes) {
  proc::process_pool pool(proc::process_pool_options{.workers = 1, .payload_arena_bytes = 16 * MiB});
  std::vector<trident::exec::future<std::uint64_t>> fs;
  std::vector<std::uint64_t> want;
  for (unsigned i = 0; i < 10; ++i) {
    const std::string s = pattern(i == 3 ? crash_length : MiB + i * 4096, i);
    want.push_back(digest_of(s));
    fs.push_back(pool.submit(digest_or_crash, s));
  }
  for (std::size_t i = 0; i < fs.size(); ++i) {
    if (i == 3) {
      EXPECT_THROW(fs[i].get(), proc::worker_crashed_error);
    } else {
      EXPECT_EQ(fs[i].get(), want[i]) << i;
    }
  }
  EXPECT_GE(pool.statistics().started, 2u);  // the replacement got the arena too
  EXPECT_EQ(settled_slots(*pool.payload_arena()), 0u);
}

TEST(payload_arena, cancelled_jobs_free_their_slots) {
  const std::string go = temp_path("cancel");
  std::filesystem::remove(go);
  proc::process_pool pool(proc::process_pool_options{.workers = 1, .payload_arena_bytes = 16 * MiB});
  auto blocker = pool.submit(wait_for_file, go);
  std::vector<trident::exec::future<std::uint64_t>> fs;
  std::vector<std::uint64_t> want;
  for (unsigned i = 0; i < 6; ++i) {
    const std::string s = pattern(MiB, i);
    want.push_back(digest_of(s));
    fs.push_back(pool.submit(digest, s));
  }
  std::vector<bool> cancelled;
  for (auto& f : fs) cancelled.push_back(f.cancel());
  std::FILE* f = std::fopen(go.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_EQ(blocker.get(), 1);
  std::size_t n_cancelled = 0;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    if (cancelled[i]) {
      ++n_cancelled;
      EXPECT_THROW(fs[i].get(), trident::cancelled_error) << i;
    } else {
      EXPECT_EQ(fs[i].get(), want[i]) << i;  // sent before the cancel: it ran
    }
  }
  EXPECT_GT(n_cancelled, 0u);
  EXPECT_EQ(settled_slots(*pool.payload_arena()), 0u);
  std::filesystem::remove(go);
}

TEST(payload_arena, no_descriptor_or_memfd_is_left_by_large_arguments_or_after_shutdown) {
  {
    // What the program keeps open once it has had a pool (the fork server's channel) is open
    // before the count starts.
    proc::process_pool warm_up(1);
    ASSERT_EQ(warm_up.submit(digest, std::string("x")).get(), digest_of("x"));
  }
  const std::size_t before_pool = open_descriptors();
  const std::size_t arenas_before = open_arenas();
  {
    proc::process_pool pool(2);
    auto run = [&pool](unsigned n) {
      for (unsigned i = 0; i < n; ++i) {
        const std::string s = pattern(200'000 + i, i);
        ASSERT_EQ(pool.submit(digest, s).get(), digest_of(s));
      }
    };
    run(10);  // the arena and what the pool opens once are open by now
    ASSERT_EQ(settled_slots(*pool.payload_arena()), 0u);
    const std::size_t before = open_descriptors();
    run(100);
    ASSERT_EQ(settled_slots(*pool.payload_arena()), 0u);
    EXPECT_EQ(open_descriptors(), before);
    EXPECT_EQ(open_arenas(), arenas_before + 1);
  }
  EXPECT_EQ(open_arenas(), arenas_before);
  EXPECT_EQ(open_descriptors(), before_pool);
}

TEST(payload_arena, a_pool_without_an_arena_sends_large_arguments_as_memfds) {
  proc::process_pool pool(proc::process_pool_options{.workers = 1, .payload_arena_bytes = 0});
  EXPECT_EQ(pool.payload_arena(), nullptr);
  const std::string s = pattern(3 * MiB, 9);
  EXPECT_EQ(pool.submit(digest, s).get(), digest_of(s));
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(payload_arena, a_tight_memory_limit_leaves_the_arena_out_and_large_arguments_still_go) {
  proc::process_pool tight(proc::process_pool_options{.workers = 1, .memory_limit_bytes = 128 * MiB});
  EXPECT_EQ(tight.payload_arena(), nullptr);  // 32 MiB is more than an eighth of 128 MiB
  const std::string s = pattern(2 * MiB, 4);
  EXPECT_EQ(tight.submit(digest, s).get(), digest_of(s));
  proc::process_pool roomy(proc::process_pool_options{.workers = 1, .memory_limit_bytes = 512 * MiB});
  ASSERT_NE(roomy.payload_arena(), nullptr);
  EXPECT_EQ(roomy.submit(digest, s).get(), digest_of(s));
  EXPECT_GT(roomy.payload_arena()->statistics().allocations, 0u);
}
#endif
