// A short tour of Trident's thread-level API: the example the README shows.
//
//   thread_pool: submit, map, as_completed, task_group, parallel_for / parallel_reduce
//   sync:        channel, synchronized, mutex (with lock-order checking)

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "trident/trident.hpp"

using namespace std::chrono_literals;

int main() {
  trident::exec::thread_pool pool(4);

  // submit: a future of one call's result (Python's executor.submit).
  trident::exec::future<int> answer = pool.submit([](int x) { return x * 2; }, 21);
  std::cout << "submit:       6*7 = " << answer.get() << '\n';

  // map: results in input order (Python's executor.map).
  std::vector<int> squares = pool.map([](int x) { return x * x; }, std::vector{1, 2, 3, 4, 5});
  std::cout << "map:          squares =";
  for (int s : squares) std::cout << ' ' << s;
  std::cout << '\n';

  // as_completed: whichever finishes first comes first.
  std::vector<trident::exec::future<int>> sleepers;
  for (int ms : {60, 20, 40}) {
    sleepers.push_back(pool.submit([ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return ms;
    }));
  }
  std::cout << "as_completed: finished after";
  for (auto& f : trident::exec::as_completed(sleepers)) std::cout << ' ' << f.get() << "ms";
  std::cout << '\n';

  // task_group: run many, wait for all, first exception rethrown by wait().
  trident::sync::synchronized<std::vector<std::string>> visited{trident::sync::lock_name{"visited"}};
  {
    trident::exec::task_group group(pool);
    for (const char* page : {"home", "about", "blog"}) {
      group.run([&visited, page] { visited.with_lock([&](auto& v) { v.push_back(page); }); });
    }
    group.wait();
  }
  std::cout << "task_group:   visited " << visited.lock()->size() << " pages\n";

  // parallel_for / parallel_reduce: index ranges split over the workers.
  std::vector<std::uint64_t> cubes(1000);
  trident::exec::parallel_for(pool, 0, cubes.size(), [&](std::size_t i) { cubes[i] = std::uint64_t{i} * i * i; });
  const std::uint64_t sum_of_squares =
      trident::exec::parallel_reduce(pool, 0, 1'000'000, std::uint64_t{0}, [](std::size_t begin, std::size_t end) {
        std::uint64_t s = 0;
        for (std::size_t i = begin; i < end; ++i) s += std::uint64_t{i} * i;
        return s;
      });
  std::cout << "parallel_for: 999^3 = " << cubes[999] << "; parallel_reduce: sum of i*i below 1e6 = " << sum_of_squares
            << '\n';

  // channel: a bounded queue; close() ends the consumer's loop, no sentinel needed.
  trident::sync::channel<int> numbers{8};
  std::jthread producer([&] {
    for (int i = 1; i <= 100; ++i) numbers.send(i);
    numbers.close();
  });
  int total = 0;
  for (int n : numbers) total += n;
  std::cout << "channel:      received sum " << total << " (" << numbers << ")\n";

  // mutex: named, printable, and with lock-order checking it reports a would-be deadlock.
  trident::sync::lock_order::set_enabled(true);
  trident::sync::mutex a{"a"};
  trident::sync::mutex b{"b"};
  {
    auto first = a.scoped();
    auto second = b.scoped();  // records "a before b"
    std::cout << "mutex:        " << a << ", " << b << '\n';
  }
  try {
    auto first = b.scoped();
    auto second = a.scoped();  // the opposite order: refused before it could deadlock
  } catch (const trident::sync::lock_order_error& e) {
    std::cout << "lock order:   " << e.what() << '\n';
  }
  trident::sync::lock_order::set_enabled(false);

  std::cout << "pool:         " << pool.statistics() << '\n';
  return total == 5050 && answer.valid() == false ? 0 : 1;
}
