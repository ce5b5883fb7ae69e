#include "trident/http/request.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
namespace http = trident::http;

TEST(http_request_options, unset_fields_take_the_defaults_field_by_field) {
  http::request_options session;
  session.total_timeout = 200ms;
  session.verify_tls = false;
  session.retry = http::retry_policy::attempts(3);
  http::request_options request;
  request.max_redirects = 0;
  const http::request_options merged = request.with_defaults(session);
  EXPECT_EQ(merged.max_redirects, 0);
  EXPECT_EQ(merged.total_timeout, 200ms);
  EXPECT_EQ(merged.verify_tls, false);
  ASSERT_TRUE(merged.retry);
  EXPECT_EQ(merged.retry->max_attempts, 3);
  EXPECT_FALSE(merged.connect_timeout);  // unset in both
}

TEST(http_request_options, a_set_field_wins_even_when_it_equals_the_builtin_default) {
  http::request_options session;
  session.verify_tls = false;
  http::request_options request;
  request.verify_tls = true;
  EXPECT_EQ(request.with_defaults(session).verify_tls, true);
}

TEST(http_request_options, builtin_sets_every_field) {
  const auto b = http::request_options::builtin();
  EXPECT_EQ(b.connect_timeout, 10'000ms);
  EXPECT_EQ(b.total_timeout, 0ms);
  EXPECT_EQ(b.stall_timeout, 30s);
  EXPECT_EQ(b.stall_min_bytes_per_s, 1u);
  EXPECT_EQ(b.max_redirects, 10);
  EXPECT_EQ(b.max_body_bytes, 0u);
  EXPECT_EQ(b.verify_tls, true);
  ASSERT_TRUE(b.retry);
  EXPECT_EQ(b.retry->max_attempts, 1);
  EXPECT_EQ(b.receive_buffer_bytes, 16u * 1024);  // libcurl's own default
  EXPECT_EQ(b.receive_buffer_bytes, http::default_receive_buffer_bytes);
}

TEST(http_request_options, the_receive_buffer_is_inherited_like_every_field) {
  http::request_options session;
  session.receive_buffer_bytes = 64 * 1024;
  EXPECT_EQ(http::request_options{}.with_defaults(session).receive_buffer_bytes, 64u * 1024);
  http::request_options request;
  request.receive_buffer_bytes = 4096;
  EXPECT_EQ(request.with_defaults(session).receive_buffer_bytes, 4096u);
}
