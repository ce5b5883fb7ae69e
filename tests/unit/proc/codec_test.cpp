#include "trident/proc/codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct point {
  double x = 0;
  double y = 0;
  std::string label;
  TRIDENT_SERIALIZABLE(x, y, label)
  bool operator==(const point&) const = default;
};

struct not_serializable {
  int* p;
};

using trident::proc::decode;
using trident::proc::encode;

TEST(codec, round_trips_standard_types) {
  EXPECT_EQ(decode<int>(encode(42)), 42);
  EXPECT_EQ(decode<std::string>(encode(std::string("héllo\0x", 7))), std::string("héllo\0x", 7));
  const std::vector<std::map<std::string, double>> v{{{"a", 1.5}}, {}, {{"b", -2}, {"c", 3}}};
  EXPECT_EQ(decode<decltype(v)>(encode(v)), v);
  const auto t = std::make_tuple(1, std::string("two"), 3.0, std::optional<int>{}, std::optional<int>{4});
  EXPECT_EQ(decode<decltype(t)>(encode(t)), t);
}

TEST(codec, round_trips_a_user_struct_with_one_line_opt_in) {
  const point p{1.25, -3, "corner"};
  EXPECT_EQ(decode<point>(encode(p)), p);
  EXPECT_EQ(decode<std::vector<point>>(encode(std::vector{p, p})).size(), 2u);
}

TEST(codec, serializability_is_known_at_compile_time) {
  static_assert(trident::proc::is_serializable_v<point>);
  static_assert(trident::proc::is_serializable_v<std::vector<std::tuple<int, std::string>>>);
  static_assert(!trident::proc::is_serializable_v<not_serializable>);
}

TEST(codec, truncated_bytes_are_a_clear_error) {
  const std::string bytes = encode(std::string(100, 'x'));
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
    EXPECT_THROW((void)decode<std::string>(std::string_view(bytes).substr(0, cut)), trident::proc::protocol_error)
        << cut;
  }
}

TEST(codec, absurd_length_fields_do_not_crash) {
  std::string bytes(8, '\xff');  // a length of 2^64-1 elements
  EXPECT_THROW((void)decode<std::vector<std::string>>(bytes), trident::proc::protocol_error);
  EXPECT_THROW((void)decode<std::string>(bytes), trident::proc::protocol_error);
}

/// A value whose own load decodes another message: a decode inside a decode.
struct wrapped_text {
  std::string text;
  template <class Archive>
  void save(Archive& archive) const {
    archive(encode(text));
  }
  template <class Archive>
  void load(Archive& archive) {
    std::string inner;
    archive(inner);
    text = decode<std::string>(inner);
  }
  bool operator==(const wrapped_text&) const = default;
};

TEST(codec, strings_decode_straight_from_the_message_inside_containers_and_nested_decodes) {
  const std::string big(300'000, 'b');
  const std::vector<std::string> v{"", "a", big, std::string(5, '\0')};
  EXPECT_EQ(decode<std::vector<std::string>>(encode(v)), v);
  const std::tuple<wrapped_text, std::string, std::vector<wrapped_text>> nested{
      wrapped_text{big}, "after", {wrapped_text{"x"}, wrapped_text{""}}};
  EXPECT_EQ(decode<decltype(nested)>(encode(nested)), nested);
  // Another binary archive over the same encoding (not decode's) still reads strings.
  std::istringstream in(encode(big));
  cereal::BinaryInputArchive other(in);
  std::string out;
  other(out);
  EXPECT_EQ(out, big);
}

TEST(codec, a_string_longer_than_what_is_left_is_a_clear_error) {
  std::string bytes = encode(std::make_pair(std::string(1000, 'z'), 7));
  bytes.resize(bytes.size() - 10);  // the string's length field now runs past the end
  const std::uint64_t absurd = ~std::uint64_t{0} >> 1;
  std::string huge(reinterpret_cast<const char*>(&absurd), 8);
  using text_and_number = std::pair<std::string, int>;
  EXPECT_THROW((void)decode<text_and_number>(bytes), trident::proc::protocol_error);
  EXPECT_THROW((void)decode<text_and_number>(bytes.substr(0, 500)), trident::proc::protocol_error);
  EXPECT_THROW((void)decode<std::string>(huge), trident::proc::protocol_error);
}

}  // namespace
