#include "trident/http/retry_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace http = trident::http;
using namespace std::chrono_literals;

TEST(http_retry_policy, full_jitter_backoff_stays_under_the_capped_exponential) {
  http::retry_policy p;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  EXPECT_EQ(p.backoff(2, 0.0), 0ms);
  EXPECT_EQ(p.backoff(2, 0.5), 50ms);       // cap 100 ms before the 2nd attempt
  EXPECT_EQ(p.backoff(3, 0.5), 100ms);      // 200 ms
  EXPECT_EQ(p.backoff(4, 0.5), 200ms);      // 400 ms
  EXPECT_EQ(p.backoff(6, 0.5), 500ms);      // 1600 ms capped at 1000 ms
  EXPECT_LT(p.backoff(60, 0.999), 1000ms);  // no overflow far out
  for (int n = 2; n < 40; ++n) EXPECT_LE(p.backoff(n, 0.99999), p.max_delay);
}

TEST(http_retry_policy, retry_after_dates_the_clock_cannot_hold_do_not_overflow) {
  // Found by fuzz/http_headers_fuzz.cpp (UBSan: signed overflow in chrono): year 226 in
  // nanoseconds since 1970 does not fit in 64 bits.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  EXPECT_EQ(http::parse_retry_after("Wed, 21 Oct 0226 07:28:00 GMT", now), 0ms);  // long past
  EXPECT_EQ(http::parse_retry_after("Wed, 21 Oct 1969 07:28:00 GMT", now), 0ms);
  EXPECT_EQ(http::parse_retry_after("Fri, 21 Oct 9999 07:28:00 GMT", now),
            std::chrono::milliseconds(std::chrono::hours(24 * 365)));  // as far as a long delay
  EXPECT_GT(*http::parse_retry_after("Sat, 21 Oct 2028 07:28:00 GMT", now), 0ms);
}

TEST(http_retry_policy, what_is_retried) {
  EXPECT_TRUE(http::retry_policy::retriable(http::error_kind::connect));
  EXPECT_TRUE(http::retry_policy::retriable(http::error_kind::connection));
  EXPECT_TRUE(http::retry_policy::retriable(http::error_kind::timeout));
  EXPECT_TRUE(http::retry_policy::retriable(http::error_kind::short_body));
  EXPECT_FALSE(http::retry_policy::retriable(http::error_kind::dns));
  EXPECT_FALSE(http::retry_policy::retriable(http::error_kind::tls));
  EXPECT_FALSE(http::retry_policy::retriable(http::error_kind::malformed_url));
  EXPECT_FALSE(http::retry_policy::retriable(http::error_kind::body_too_large));
  EXPECT_TRUE(http::retry_policy::retriable(429));
  EXPECT_TRUE(http::retry_policy::retriable(503));
  EXPECT_FALSE(http::retry_policy::retriable(500));
  EXPECT_FALSE(http::retry_policy::retriable(404));
  EXPECT_TRUE(http::idempotent("GET"));
  EXPECT_TRUE(http::idempotent("PUT"));
  EXPECT_FALSE(http::idempotent("POST"));
  EXPECT_FALSE(http::idempotent("PATCH"));
}

TEST(http_retry_policy, retry_after_as_seconds_or_http_date) {
  EXPECT_EQ(http::parse_retry_after("3"), 3000ms);
  EXPECT_EQ(http::parse_retry_after(" 0 "), 0ms);
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10'000ms);
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now), 0ms);  // in the past
  EXPECT_FALSE(http::parse_retry_after(""));
  EXPECT_FALSE(http::parse_retry_after("soon"));
  EXPECT_FALSE(http::parse_retry_after("-5"));
  EXPECT_TRUE(http::parse_retry_after("99999999999"));  // absurd but a number: bounded, no overflow
}
