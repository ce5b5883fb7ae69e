// The web scenario: 200 URLs from the loopback internet, fetched sequentially, by threads, by
// processes and by one async session.

#include "web.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "blocking_fetch.hpp"
#include "content_hash.hpp"
#include "loopback_internet.hpp"
#include "sample_advise.hpp"
#include "seeded_random.hpp"
#include "traced_request.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/semaphore.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/http/session.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::scenarios {

/// What one fetch gave: the status and a hash of the body (all a model keeps of a page).
struct web_outcome {
  int status = 0;
  std::uint64_t body_hash = 0;
  TRIDENT_SERIALIZABLE(status, body_hash)
  friend bool operator==(const web_outcome&, const web_outcome&) = default;
};

/// The process model's task: fetches one URL in a worker process, through that worker's own
/// easy handle (kept between its tasks, so its connection stays open).
web_outcome web_fetch_in_worker(std::string url) {
  thread_local blocking_fetcher client;
  const fetched r = client.get(url);
  return {r.status, content_hash(r.body)};
}
TRIDENT_TASK(web_fetch_in_worker);

namespace {

/// Items, failures and the order-independent digest of a model's outcomes.
model_result tally(const std::vector<std::string>& urls, const std::vector<web_outcome>& outcomes) {
  if (outcomes.size() != urls.size()) {
    throw std::logic_error(fmt::format("{} outcomes for {} URLs", outcomes.size(), urls.size()));
  }
  model_result result;
  result.items = urls.size();
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (outcomes[i].status < 200 || outcomes[i].status >= 300) ++result.failed;
    result.digest += item_digest(urls[i], outcomes[i].status, outcomes[i].body_hash);
  }
  return result;
}

model_result run_sequential(const std::vector<std::string>& urls) {
  blocking_fetcher client;
  std::vector<web_outcome> outcomes;
  outcomes.reserve(urls.size());
  for (const std::string& url : urls) {
    const fetched r = client.get(url);
    outcomes.push_back({r.status, content_hash(r.body)});
  }
  return tally(urls, outcomes);
}

model_result run_threads(const std::vector<std::string>& urls, std::size_t threads) {
  trident::exec::thread_pool pool(exec::thread_pool_options{threads, fmt::format("threads_{}", threads)});
  // One easy handle per pool thread, made on its first URL and closed when the pool ends.
  const auto fetch = [](const std::string& url) {
    thread_local blocking_fetcher client;
    const fetched r = client.get(url);
    return web_outcome{r.status, content_hash(r.body)};
  };
  const std::vector<web_outcome> outcomes = pool.map(fetch, urls, 1);
  return tally(urls, outcomes);
}

model_result run_processes(const std::vector<std::string>& urls, std::size_t workers) {
  proc::process_pool pool(workers);
  const std::vector<web_outcome> outcomes = pool.map(web_fetch_in_worker, urls);
  return tally(urls, outcomes);
}

aio::task<web_outcome> fetch_one(http::session& session, aio::semaphore& in_flight, std::string url) {
  auto permit = co_await in_flight.hold();
  const http::response r = co_await get_traced(session, std::move(url));
  co_return web_outcome{r.status(), content_hash(r.body())};
}

aio::task<std::vector<web_outcome>> fetch_all(const std::vector<std::string>& urls, std::size_t in_flight) {
  http::session_options options;
  options.max_connections = static_cast<int>(in_flight);
  http::session session(options);
  aio::semaphore limit(in_flight);
  std::vector<aio::task<web_outcome>> tasks;
  tasks.reserve(urls.size());
  for (const std::string& url : urls) tasks.push_back(fetch_one(session, limit, url));
  co_return co_await aio::gather(std::move(tasks));
}

model_result run_async(const std::vector<std::string>& urls, std::size_t in_flight) {
  const std::vector<web_outcome> outcomes = aio::run(fetch_all(urls, in_flight));
  return tally(urls, outcomes);
}

}  // namespace

std::vector<web_url> draw_web_urls(scale size, std::uint64_t seed) {
  const bool full = size == scale::full;
  const std::size_t count = full ? 200 : 40;
  const std::vector<int> failing =
      full ? std::vector<int>{404, 500, 404, 503, 500, 404} : std::vector<int>{404, 500, 503};
  const std::size_t slow = full ? 6 : 2;
  seeded_random random(mix64(seed ^ 0x7765620000000000ULL));
  // Which positions fail and which are slow: the first ones of a shuffle.
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = count - 1; i > 0; --i) std::swap(order[i], order[random.below(i + 1)]);
  std::vector<int> status(count, 200);
  std::vector<bool> is_slow(count, false);
  for (std::size_t k = 0; k < failing.size(); ++k) status[order[k]] = failing[k];
  for (std::size_t k = 0; k < slow; ++k) is_slow[order[failing.size() + k]] = true;
  std::vector<web_url> urls;
  urls.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    web_url u;
    const std::uint64_t id = random.next() >> 16;
    if (is_slow[i]) {
      u.delay_ms = static_cast<unsigned>(full ? random.uniform(1000, 2000) : random.uniform(100, 200));
    } else if (full) {
      // The long tail: about one URL in eight takes 300 ms to 1 s.
      const bool tail = random.uniform() < 0.125;
      u.delay_ms = static_cast<unsigned>(tail ? random.log_uniform(300, 1000) : random.log_uniform(50, 300));
    } else {
      u.delay_ms = static_cast<unsigned>(random.log_uniform(5, 50));
    }
    u.expected_status = status[i];
    if (status[i] == 200) {
      u.bytes =
          static_cast<std::size_t>(full ? random.log_uniform(20'000, 200'000) : random.log_uniform(5'000, 50'000));
      u.path = page_path(id, u.delay_ms, u.bytes);
    } else {
      u.path = status_path(status[i], id, u.delay_ms);
    }
    urls.push_back(std::move(u));
  }
  return urls;
}

std::vector<model> make_web_models(const model_inputs& inputs) {
  const auto urls = std::make_shared<const std::vector<std::string>>(
      nlohmann::json::parse(inputs.json).at("urls").get<std::vector<std::string>>());
  const std::size_t n = urls->size();
  const std::size_t cores = inputs.cores;
  std::vector<model> models;
  models.push_back({"sequential", "sequential", 1,
                    fmt::format("{} URLs one after another through one reused libcurl handle (requests.Session)", n),
                    [urls] { return run_sequential(*urls); }});
  for (const std::size_t threads : {std::size_t{10}, std::size_t{200}}) {
    models.push_back({fmt::format("threads_{}", threads), "threads", threads,
                      fmt::format("{} URLs through {} threads, one blocking libcurl handle each", n, threads),
                      [urls, threads] { return run_threads(*urls, threads); }});
  }
  models.push_back({fmt::format("processes_{}", cores), "processes", cores,
                    fmt::format("{} URLs through a pool of {} processes, one blocking libcurl handle each", n, cores),
                    [urls, cores] { return run_processes(*urls, cores); }});
  for (const std::size_t in_flight : {std::size_t{50}, std::size_t{200}}) {
    models.push_back({fmt::format("async_{}", in_flight), "async", in_flight,
                      fmt::format("{} URLs through one http::session, {} in flight", n, in_flight),
                      [urls, in_flight] { return run_async(*urls, in_flight); }});
  }
  return models;
}

scenario make_web_scenario(const scenario_options& options) {
  const std::size_t cores = options.cores > 0 ? options.cores : std::max(1u, std::thread::hardware_concurrency());
  if (options.say) options.say("web: starting the loopback internet");
  auto server = std::make_shared<loopback_internet>();
  auto urls = std::make_shared<std::vector<std::string>>();
  for (const web_url& u : draw_web_urls(options.size, options.seed)) urls->push_back(server->url(u.path));

  scenario s;
  s.name = "web";
  s.title = fmt::format("{} URLs", urls->size());
  s.lesson_choice = "async";
  s.resources = server;
  s.inputs = {options.size, cores, nlohmann::json{{"urls", *urls}}.dump()};
  s.models = make_web_models(s.inputs);
  s.advise = make_web_advise(s.inputs);
  return s;
}

advise_function make_web_advise(const model_inputs& inputs) {
  return advise_on_first(inputs, "urls", 24, &web_fetch_in_worker);
}

}  // namespace trident::scenarios
