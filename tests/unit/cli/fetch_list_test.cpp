// `trident fetch -i FILE`: each URL of a list keeps the line it came from, and a URL that is not
// one is reported with that line, so the user knows which line to fix.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "fetch_command.hpp"

using trident::cli::located_error;
using trident::cli::read_url_list;

TEST(fetch_list, each_url_keeps_its_line_counting_blank_lines_and_comments) {
  std::istringstream in("http://a.test/x\n# a comment\n\nhttp://a.test/y\tnamed.txt\n   \nnotaurl\n");
  const auto items = read_url_list(in, "urls.txt");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].item.url, "http://a.test/x");
  EXPECT_EQ(items[0].origin, "urls.txt:1");
  EXPECT_EQ(items[1].item.url, "http://a.test/y");
  EXPECT_EQ(items[1].item.name, "named.txt");
  EXPECT_EQ(items[1].origin, "urls.txt:4");
  EXPECT_EQ(items[2].item.url, "notaurl");
  EXPECT_EQ(items[2].origin, "urls.txt:6");
}

// Regression (issue #22, item 12): "malformed URL 'notaurl': ..." did not say where in a list of
// thousands of lines the bad one was.
TEST(fetch_list, a_url_at_fault_is_reported_with_its_line) {
  trident::http::fetch_result r;
  r.url = "notaurl";
  r.outcome = trident::http::fetch_outcome::failed;
  r.error = "malformed URL 'notaurl': Bad scheme";
  r.error_kind = "malformed_url";
  EXPECT_EQ(located_error(r, "urls.txt:6"), "urls.txt:6: malformed URL 'notaurl': Bad scheme");
  r.error = "unsupported scheme 'ftp' in ftp://a.test/x (http and https only)";
  r.error_kind = "unsupported_scheme";
  EXPECT_EQ(located_error(r, "stdin:2"), "stdin:2: " + r.error);
}

// The line is the user's to fix only when the URL itself is wrong; a server's answer is not, and
// a URL given as an argument has no line.
TEST(fetch_list, other_failures_and_arguments_keep_their_error_as_it_is) {
  trident::http::fetch_result r;
  r.outcome = trident::http::fetch_outcome::failed;
  r.error = "HTTP status 404 for http://a.test/x";
  r.error_kind = "http_status";
  EXPECT_EQ(located_error(r, "urls.txt:3"), r.error);
  r.error = "malformed URL 'notaurl': Bad scheme";
  r.error_kind = "malformed_url";
  EXPECT_EQ(located_error(r, ""), r.error);
}
