// blocking_fetcher: a reused libcurl easy handle.

#include "blocking_fetch.hpp"

#include <curl/curl.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "trident/trace/recorder.hpp"

namespace trident::scenarios {
namespace {

/// curl_global_init once per process, before the first handle (it is not safe to race).
void init_libcurl_once() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw std::runtime_error(std::string("libcurl: ") + curl_easy_strerror(code));
}

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

}  // namespace

blocking_fetcher::blocking_fetcher() {
  init_libcurl_once();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("libcurl: cannot make an easy handle");
  handle_ = curl;
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60'000L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // no proxy from the environment, as http::session
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "trident-scenarios/0.1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body_);
}

blocking_fetcher::~blocking_fetcher() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

fetched blocking_fetcher::get(const std::string& url) {
  const trace::span span("request", "http", url);
  CURL* curl = static_cast<CURL*>(handle_);
  body_.clear();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) throw std::runtime_error("GET " + url + ": " + curl_easy_strerror(code));
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  fetched out;
  out.status = static_cast<int>(status);
  out.body = std::move(body_);
  body_ = std::string();
  return out;
}

}  // namespace trident::scenarios
