#include "trident/http/request.hpp"

namespace trident::http {

request_options request_options::with_defaults(const request_options& defaults) const {
  request_options out = *this;
  auto inherit = [](auto& field, const auto& fallback) {
    if (!field) field = fallback;
  };
  inherit(out.connect_timeout, defaults.connect_timeout);
  inherit(out.total_timeout, defaults.total_timeout);
  inherit(out.stall_timeout, defaults.stall_timeout);
  inherit(out.stall_min_bytes_per_s, defaults.stall_min_bytes_per_s);
  inherit(out.max_redirects, defaults.max_redirects);
  inherit(out.max_body_bytes, defaults.max_body_bytes);
  inherit(out.verify_tls, defaults.verify_tls);
  inherit(out.retry, defaults.retry);
  inherit(out.receive_buffer_bytes, defaults.receive_buffer_bytes);
  inherit(out.on_body_bytes, defaults.on_body_bytes);
  inherit(out.on_body_start, defaults.on_body_start);
  return out;
}

request_options request_options::builtin() {
  request_options o;
  o.connect_timeout = std::chrono::milliseconds(10'000);
  o.total_timeout = std::chrono::milliseconds(0);
  o.stall_timeout = std::chrono::seconds(30);
  o.stall_min_bytes_per_s = 1;
  o.max_redirects = 10;
  o.max_body_bytes = 0;
  o.verify_tls = true;
  o.retry = retry_policy{};
  o.receive_buffer_bytes = default_receive_buffer_bytes;
  return o;
}

}  // namespace trident::http
