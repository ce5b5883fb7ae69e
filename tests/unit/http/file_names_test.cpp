#include "trident/http/file_names.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

namespace http = trident::http;

TEST(http_file_names, names_come_from_the_last_path_segment) {
  EXPECT_EQ(http::file_name_for("http://h/a/b/report.pdf"), "report.pdf");
  EXPECT_EQ(http::file_name_for("http://h/a/b/report.pdf?x=1#top"), "report.pdf");
  EXPECT_EQ(http::file_name_for("http://h/a/my%20file.txt"), "my file.txt");
  EXPECT_EQ(http::file_name_for("http://h/dir/"), "index.html");
  EXPECT_EQ(http::file_name_for("http://h"), "index.html");
  EXPECT_EQ(http::file_name_for("https://h:8080/"), "index.html");
}

TEST(http_file_names, nothing_escapes_the_directory) {
  EXPECT_EQ(http::file_name_for("http://h/.."), "__");
  EXPECT_EQ(http::file_name_for("http://h/a/%2e%2e"), "__");
  EXPECT_EQ(http::file_name_for("http://h/a/..%2f..%2fetc%2fpasswd"), "___.._etc_passwd");
  EXPECT_EQ(http::file_name_for("http://h/%2Fetc%2Fpasswd"), "_etc_passwd");
  EXPECT_EQ(http::file_name_for("http://h/.bashrc"), "_bashrc");
  EXPECT_EQ(http::file_name_for("http://h/a%00b%0a"), "a_b_");
  EXPECT_EQ(http::sanitize_file_name("../../x"), "___.._x");
  EXPECT_EQ(http::sanitize_file_name("/abs/path"), "_abs_path");
  EXPECT_EQ(http::sanitize_file_name("back\\slash"), "back_slash");
  EXPECT_EQ(http::sanitize_file_name(""), "download");
  EXPECT_EQ(http::sanitize_file_name("   "), "download");
  EXPECT_EQ(http::sanitize_file_name("."), "_");
}

TEST(http_file_names, long_names_keep_their_extension_and_utf8) {
  std::string name;
  for (int i = 0; i < 150; ++i) name += "é";  // 300 bytes
  name += ".jpeg";
  const std::string out = http::sanitize_file_name(name);
  EXPECT_LE(out.size(), 200u);
  EXPECT_TRUE(out.ends_with(".jpeg"));
  EXPECT_EQ(out.size() % 2, 1u);  // whole two-byte characters plus ".jpeg"
}

TEST(http_file_names, a_long_name_of_bytes_that_are_not_utf8_keeps_a_stem) {
  // Found by fuzz/http_fetch_list_fuzz.cpp: 300 UTF-8 continuation bytes have no character
  // start to cut at, so the whole stem went and the extension alone was left: a hidden file,
  // or "." (the output directory itself) for a name ending in a dot.
  for (const std::string ext : {".bin", "."}) {
    const std::string out = http::sanitize_file_name(std::string(300, '\xb2') + ext);
    EXPECT_LE(out.size(), 200u);
    EXPECT_NE(out, ".");
    EXPECT_NE(out.front(), '.') << out;
    EXPECT_TRUE(out.ends_with(ext));
  }
  EXPECT_NE(http::file_name_for("https://h/" + std::string(250, '\xb2') + "."), ".");
}

TEST(http_file_names, collisions_get_a_suffix_before_the_extension) {
  http::name_allocator names;
  EXPECT_EQ(names.claim("a.txt"), "a.txt");
  EXPECT_EQ(names.claim("a.txt"), "a-1.txt");
  EXPECT_EQ(names.claim("a.txt"), "a-2.txt");
  EXPECT_EQ(names.claim("a-1.txt"), "a-1-1.txt");
  EXPECT_EQ(names.claim("README"), "README");
  EXPECT_EQ(names.claim("README"), "README-1");
}

/// Property: for any URL bytes at all, the name is one component that stays inside the dir.
TEST(http_file_names, property_random_urls_never_leave_the_output_directory) {
  std::mt19937_64 rng(20261126);
  const std::string alphabet = "/\\.%2fF5cC0aA:?#\t\n\r\x01\x7f \xc3\xa9xyz-_~";
  const std::filesystem::path dir = "/tmp/out";
  for (int i = 0; i < 200'000; ++i) {
    std::string url = (rng() % 2) ? "http://h/" : "";
    const std::size_t len = rng() % 40;
    for (std::size_t k = 0; k < len; ++k) {
      url.push_back((rng() % 4 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()]);
    }
    for (const std::string& name : {http::file_name_for(url), http::sanitize_file_name(url)}) {
      ASSERT_FALSE(name.empty()) << url;
      ASSERT_EQ(name.find('/'), std::string::npos) << url;
      ASSERT_EQ(name.find('\0'), std::string::npos) << url;
      ASSERT_NE(name, ".");
      ASSERT_NE(name, "..");
      ASSERT_NE(name.front(), '.');
      ASSERT_LE(name.size(), 200u);
      for (char c : name) ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << url;
      const auto joined = (dir / name).lexically_normal();
      ASSERT_EQ(joined.parent_path(), dir) << url;
    }
  }
}
