#pragma once
/// @file
/// `when_all` and `when_any`: futures that finish when all, or any one, of a set of futures do.

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/exec/future.hpp"

namespace trident::exec {

namespace detail {

template <class T>
using all_result_t = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

/// Collects the inputs of `when_all`; the continuation that brings `remaining` to zero
/// assembles the result.
template <class T>
struct all_collector {
  std::vector<future<T>> inputs;
  std::atomic<std::size_t> remaining;
  promise<all_result_t<T>> out;

  explicit all_collector(std::vector<future<T>>&& in) : inputs(std::move(in)), remaining(inputs.size()) {}

  void assemble() noexcept {
    try {
      if constexpr (std::is_void_v<T>) {
        for (auto& f : inputs) f.get();
        out.set_value();
      } else {
        std::vector<T> values;
        values.reserve(inputs.size());
        for (auto& f : inputs) values.push_back(f.get());
        out.set_value(std::move(values));
      }
    } catch (...) {
      out.set_exception(std::current_exception());
    }
  }
};

template <class T>
struct all_node final : continuation {
  std::shared_ptr<all_collector<T>> collector;
  explicit all_node(std::shared_ptr<all_collector<T>> c) : collector(std::move(c)) { fire = &on_fire; }
  static void on_fire(continuation* c) noexcept {
    auto* self = static_cast<all_node*>(c);
    if (self->collector->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) self->collector->assemble();
    delete self;
  }
};

struct any_state {
  std::atomic<bool> decided{false};
  promise<std::size_t> out;
};

struct any_node final : continuation {
  std::shared_ptr<any_state> state;
  std::size_t index;
  any_node(std::shared_ptr<any_state> s, std::size_t i) : state(std::move(s)), index(i) { fire = &on_fire; }
  static void on_fire(continuation* c) noexcept {
    auto* self = static_cast<any_node*>(c);
    if (!self->state->decided.exchange(true, std::memory_order_acq_rel)) self->state->out.set_value(self->index);
    delete self;
  }
};

}  // namespace detail

/// A future of every input's value, in input order (`std::vector<T>`; `void` for `T = void`).
/// It finishes when all inputs have finished; if any failed or was cancelled, it holds the
/// exception of the first such input in input order. Takes ownership of the futures.
template <class T>
future<exec::detail::all_result_t<T>> when_all(std::vector<future<T>> futures) {
  for (auto& f : futures) {
    if (!f.valid()) throw future_error("when_all: future has no state");
  }
  auto collector = std::make_shared<exec::detail::all_collector<T>>(std::move(futures));
  auto result = collector->out.get_future();
  if (collector->inputs.empty()) {
    collector->assemble();
    return result;
  }
  // Registering on the last input may assemble right away, on this thread.
  const std::size_t n = collector->inputs.size();
  for (std::size_t i = 0; i < n; ++i) {
    auto* node = new exec::detail::all_node<T>(collector);
    if (!collector->inputs[i].state()->add_continuation(node)) exec::detail::all_node<T>::on_fire(node);
  }
  return result;
}

/// A future of the index of the first input to finish (value, exception or cancellation). The
/// inputs stay with the caller, who retrieves the winner's result from them.
/// Throws std::invalid_argument for an empty set (it would never finish).
template <class T>
future<std::size_t> when_any(std::vector<future<T>>& futures) {
  if (futures.empty()) throw std::invalid_argument("when_any of no futures would never finish");
  for (auto& f : futures) {
    if (!f.valid()) throw future_error("when_any: future has no state");
  }
  auto state = std::make_shared<exec::detail::any_state>();
  auto result = state->out.get_future();
  for (std::size_t i = 0; i < futures.size(); ++i) {
    auto* node = new exec::detail::any_node(state, i);
    if (!futures[i].state()->add_continuation(node)) exec::detail::any_node::on_fire(node);
  }
  return result;
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_WHEN_ALL_HPP
#include "trident/exec/deprecated_names.hpp"
