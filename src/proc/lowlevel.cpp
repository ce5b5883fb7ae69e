// The process layer's low-level interface (trident/proc/lowlevel.hpp): encoded calls run here or
// on a pool, their results kept as bytes for whoever carries them further.

#include "trident/proc/lowlevel.hpp"

#include <cxxabi.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <typeinfo>

#include "trident/core/demangle.hpp"
#include "trident/proc/detail/pool_job.hpp"

namespace trident::proc::lowlevel {

namespace {

/// A pool job whose result stays encoded: the caller passes the bytes on without decoding them.
class raw_job final : public detail::pool_job {
 public:
  future<std::string> take_future() { return promise_.get_future(); }
  bool claim() noexcept override { return promise_.try_start(); }
  void complete(std::string_view result) noexcept override {
    try {
      promise_.set_value(std::string(result));
    } catch (...) {
      fail(std::current_exception());
    }
  }
  void fail(std::exception_ptr error) noexcept override {
    try {
      promise_.set_exception(std::move(error));
    } catch (...) {  // already satisfied
    }
  }
  void cancel(const char* why) noexcept override {
    if (promise_.try_cancel()) return;
    try {
      fail(std::make_exception_ptr(cancelled_error(why)));
    } catch (...) {
    }
  }

 private:
  promise<std::string> promise_;
};

}  // namespace

std::string_view payload_task_name(std::string_view payload) {
  if (payload.size() < 4) throw protocol_error("encoded call too short for a task name");
  std::uint32_t name_len;
  std::memcpy(&name_len, payload.data(), 4);
  if (name_len > payload.size() - 4) throw protocol_error("encoded call: the task name runs past the end");
  return payload.substr(4, name_len);
}

std::string run_encoded(call_kind kind, std::string_view payload) {
  const std::string_view name = payload_task_name(payload);
  const detail::registered_task* task = detail::find_task(name);
  if (task == nullptr) {
    throw unregistered_task_error("this process has no task named '" + std::string(name) +
                                  "' (is it the same binary, with TRIDENT_TASK in it?)");
  }
  std::string out;
  (kind == call_kind::chunk ? task->chunk : task->one)(payload.substr(4 + name.size()), out);
  return out;
}

future<std::string> submit_encoded(process_pool& pool, call_kind kind, std::string payload,
                                   std::chrono::milliseconds timeout) {
  auto job = std::make_unique<raw_job>();
  job->kind = kind == call_kind::chunk ? detail::frame_kind::chunk : detail::frame_kind::task;
  const std::string_view name = payload_task_name(payload);
  const detail::registered_task* task = detail::find_task(name);
  if (task == nullptr) throw unregistered_task_error("no task named '" + std::string(name) + "' is registered");
  job->task_name = task->name;  // the registry's string: lives as long as the program
  job->payload = std::move(payload);
  job->timeout = timeout;
  detail::spill_large_payload(*job);
  auto f = job->take_future();
  pool.enqueue(std::move(job));
  return f;
}

std::pair<std::string, std::string> describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const remote_error& e) {
    return {e.type_name(), e.message()};
  } catch (const std::exception& e) {
    return {demangle(typeid(e)), e.what()};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t != nullptr ? demangle(t->name()) : "unknown", "(exception not derived from std::exception)"};
  }
}

}  // namespace trident::proc::lowlevel
