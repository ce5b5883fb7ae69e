#include "trident/http/response.hpp"

#include <gtest/gtest.h>

#include "trident/http/errors.hpp"

namespace http = trident::http;

TEST(http_response, headers_are_found_case_insensitively) {
  http::response r(200, "http://h/", {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}}, "body");
  EXPECT_EQ(r.header("content-type").value_or(""), "text/plain");
  EXPECT_EQ(r.header("X-A").value_or(""), "1");  // the first of repeated headers
  EXPECT_FALSE(r.header("missing").has_value());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.text(), "body");
}

TEST(http_response, raise_for_status_only_for_4xx_and_5xx) {
  EXPECT_NO_THROW(http::response(204, "u", {}, "").raise_for_status());
  EXPECT_NO_THROW(http::response(304, "u", {}, "").raise_for_status());
  try {
    http::response(503, "http://h/x", {}, "").raise_for_status();
    FAIL() << "no throw";
  } catch (const http::http_status_error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.url(), "http://h/x");
    const trident::error& base = e;  // one catch for every Trident error
    EXPECT_NE(std::string(base.what()).find("503"), std::string::npos);
  }
}

TEST(http_response, error_kinds_have_stable_names) {
  EXPECT_EQ(http::to_string(http::error_kind::short_body), "short_body");
  EXPECT_EQ(http::to_string(http::error_kind::dns), "dns");
  EXPECT_EQ(http::to_string(http::error_kind::file), "file");
}
