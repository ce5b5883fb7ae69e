#pragma once
/// @file
/// The lesson's Exercise 1 task, shared by its cell (16_prime_exercise.cpp) and by
/// `trident cluster-demo`, which runs the same registered task on MPI ranks.

#include <cstdint>
#include <string>

#include "trident/proc/codec.hpp"

namespace trident::lesson {

/// What the exercise computes for one number.
struct number_facts {
  std::int64_t number = 0;
  bool is_prime = false;
  std::string square;  ///< Exact, in decimal: the squares of numbers past 10¹² do not fit 64 bits.
  TRIDENT_SERIALIZABLE(number, is_prime, square)
  bool operator==(const number_facts&) const = default;
};

/// The exercise's task, registered (TRIDENT_TASK) as "process_number": whether `n` is prime
/// (trial division) and its square. Pure; thread safe.
number_facts process_number(std::int64_t n);

}  // namespace trident::lesson
