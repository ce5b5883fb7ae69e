// Lesson cell "Thread Safety and Locks": three account holders deposit and withdraw at random,
// concurrently, on one account guarded by a lock. Every read-modify-write of the balance
// happens under the lock, so no update is lost: the final balance is exactly the initial
// balance plus what was deposited minus what was withdrawn.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cell.hpp"
#include "trident/sync/mutex.hpp"

namespace trident::lesson {
namespace {

using cents = std::int64_t;  // money in whole cents: sums are exact

std::string dollars(cents c) { return fmt::format("${}.{:02}", c / 100, c % 100); }

/// A bank account whose operations are atomic with respect to each other.
class account {
 public:
  explicit account(cents initial) : balance_(initial) {}

  void deposit(output& out, cents amount, const std::string& holder) {
    auto guard = lock_.scoped();
    const cents current = balance_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // "processing" inside the lock
    balance_ = current + amount;
    ++transactions_;
    out.line("{} deposited {}. New balance: {}", holder, dollars(amount), dollars(balance_));
  }

  bool withdraw(output& out, cents amount, const std::string& holder) {
    auto guard = lock_.scoped();
    if (balance_ < amount) {
      out.line("{} withdrawal of {} failed - insufficient funds", holder, dollars(amount));
      return false;
    }
    const cents current = balance_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    balance_ = current - amount;
    ++transactions_;
    out.line("{} withdrew {}. New balance: {}", holder, dollars(amount), dollars(balance_));
    return true;
  }

  cents balance() {
    auto guard = lock_.scoped();
    return balance_;
  }

  int transactions() {
    auto guard = lock_.scoped();
    return transactions_;
  }

 private:
  trident::sync::mutex lock_{"account"};
  cents balance_;
  int transactions_ = 0;
};

/// What one holder did, counted by the holder itself (no sharing, so no lock).
struct holder_totals {
  cents deposited = 0;
  cents withdrawn = 0;
  int transactions = 0;
};

void perform_transactions(output& out, account& acct, const std::string& holder, int count, unsigned seed,
                          holder_totals& totals) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<cents> amount(1000, 10000);  // $10.00 .. $100.00
  std::uniform_int_distribution<int> pause_ms(2, 8);
  for (int i = 0; i < count; ++i) {
    const cents a = amount(rng);
    if (rng() % 2 == 0) {
      acct.deposit(out, a, holder);
      totals.deposited += a;
      ++totals.transactions;
    } else if (acct.withdraw(out, a, holder)) {
      totals.withdrawn += a;
      ++totals.transactions;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
  }
}

}  // namespace

std::string bank_account(output& out) {
  constexpr cents initial = 100'000;  // $1000.00
  constexpr int per_holder = 8;
  account shared(initial);
  out.line("Initial balance: {}", dollars(shared.balance()));

  const std::vector<std::string> people = {"Alice", "Bob", "Charlie"};
  std::vector<holder_totals> totals(people.size());
  {
    std::random_device seed;
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < people.size(); ++i) {
      threads.emplace_back(perform_transactions, std::ref(out), std::ref(shared), std::cref(people[i]), per_holder,
                           seed(), std::ref(totals[i]));
    }
  }

  holder_totals sum;
  for (const auto& t : totals) {
    sum.deposited += t.deposited;
    sum.withdrawn += t.withdrawn;
    sum.transactions += t.transactions;
  }
  const cents expected = initial + sum.deposited - sum.withdrawn;
  const cents final_balance = shared.balance();
  out.line("Final balance: {} (expected {} = {} + {} deposited - {} withdrawn)", dollars(final_balance),
           dollars(expected), dollars(initial), dollars(sum.deposited), dollars(sum.withdrawn));
  out.line("Total transactions: {}", shared.transactions());

  check(final_balance == expected,
        fmt::format("balance {} but expected {}: an update was lost", dollars(final_balance), dollars(expected)));
  check(shared.transactions() == sum.transactions, "transaction count does not match");
  return fmt::format("balance {} = expected, {} transactions", dollars(final_balance), sum.transactions);
}

}  // namespace trident::lesson
