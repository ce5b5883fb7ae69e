// The task registry: name -> invokers (what a worker runs), address -> name (what a submit
// sends). Filled by TRIDENT_TASK during static initialisation, read-only afterwards, so a
// worker that re-executes the same binary has the same table before main() starts.

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "trident/core/demangle.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::proc::detail {

namespace {

struct registry {
  std::mutex mutex;
  std::map<std::string, registered_task, std::less<>> by_name;
  std::unordered_map<any_fn, std::string> by_address;
};

registry& table() {
  static registry* r = new registry();  // never destroyed: tasks may run during static teardown
  return *r;
}

// Unregistered functions only (a registered one is named by its TRIDENT_TASK name): the symbol
// where the binary exports it (-rdynamic), else the address.
std::string describe(any_fn address) {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(address), &info) != 0 && info.dli_sname != nullptr) {
    return demangle(info.dli_sname);
  }
  char text[32];
  std::snprintf(text, sizeof text, "%p", reinterpret_cast<void*>(address));
  return std::string("the function at ") + text;
}

}  // namespace

bool register_task(const char* name, any_fn address, invoker_fn one, invoker_fn chunk) {
  auto& r = table();
  std::lock_guard lock(r.mutex);
  auto [it, inserted] = r.by_name.try_emplace(name, registered_task{name, one, chunk});
  if (!inserted && it->second.one != one) {
    std::fprintf(stderr, "trident: two different functions registered as task '%s'; give one another name\n", name);
    std::abort();
  }
  r.by_address.emplace(address, name);
  return true;
}

const registered_task* find_task(std::string_view name) {
  auto& r = table();
  std::lock_guard lock(r.mutex);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : &it->second;
}

const std::string* find_task_name(any_fn address) noexcept {
  auto& r = table();
  std::lock_guard lock(r.mutex);
  auto it = r.by_address.find(address);
  return it != r.by_address.end() ? &it->second : nullptr;
}

const std::string& task_name_of(any_fn address) {
  auto& r = table();
  {
    std::lock_guard lock(r.mutex);
    auto it = r.by_address.find(address);
    if (it != r.by_address.end()) return it->second;
  }
  throw unregistered_task_error(
      describe(address) +
      " is not registered as a task: add TRIDENT_TASK(<its name>) at namespace scope next to its definition "
      "(the worker runs the task by that name). A lambda, even one turned into a function pointer with +, "
      "cannot be a task: move its body into a named function and register that");
}

}  // namespace trident::proc::detail
