#include "trident/core/demangle.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

namespace {

struct local_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
struct box {};

}  // namespace

TEST(demangle, type_names_read_as_in_source) {
  EXPECT_EQ(trident::demangle(typeid(std::runtime_error)), "std::runtime_error");
  EXPECT_EQ(trident::demangle(typeid(int)), "int");
  EXPECT_EQ(trident::demangle(typeid(box<long>)), "(anonymous namespace)::box<long>");
  EXPECT_EQ(trident::demangle(typeid(local_error).name()), "(anonymous namespace)::local_error");
}

TEST(demangle, symbol_names_read_as_in_source) {
  EXPECT_EQ(trident::demangle("_ZN7trident8demangleEPKc"), "trident::demangle(char const*)");
}

TEST(demangle, text_that_is_not_a_mangled_name_comes_back_unchanged) {
  EXPECT_EQ(trident::demangle("main"), "main");
  EXPECT_EQ(trident::demangle("not a name"), "not a name");
  EXPECT_EQ(trident::demangle("_Z"), "_Z");
  EXPECT_EQ(trident::demangle(""), "");
  EXPECT_EQ(trident::demangle(static_cast<const char*>(nullptr)), "");
}

/// The documented thread safety: many threads at once, each getting its own right answer.
TEST(demangle, threads_at_once_each_get_the_right_name) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        const bool ok = t % 2 == 0 ? trident::demangle(typeid(std::runtime_error)) == "std::runtime_error"
                                   : trident::demangle(typeid(box<int>)) == "(anonymous namespace)::box<int>";
        if (!ok) ++wrong[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}
