// The mixed scenario: fetch datasets (I/O) and analyse each (CPU), sequentially, on a thread
// pool, and with async fetching feeding a process pool — after all the fetches, or pipelined.

#include "mixed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "blocking_fetch.hpp"
#include "content_hash.hpp"
#include "dataset_analysis.hpp"
#include "loopback_internet.hpp"
#include "sample_advise.hpp"
#include "seeded_random.hpp"
#include "traced_request.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/semaphore.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/http/session.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/run_in.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::scenarios {

/// The process models' task: analyses one dataset in a worker process.
dataset_summary mixed_analyse_in_worker(std::string csv) { return analyse_dataset(csv); }
TRIDENT_TASK(mixed_analyse_in_worker);

namespace {

/// A dataset that does not answer 200 is not a result to analyse: the run fails.
void require_ok(const std::string& url, int status) {
  if (status != 200) throw std::runtime_error(fmt::format("GET {}: status {}", url, status));
}

/// One whole item, fetch and analysis, for `trident advise` (any thread or worker process).
dataset_summary mixed_fetch_and_analyse_in_worker(std::string url) {
  thread_local blocking_fetcher client;
  const fetched r = client.get(url);
  require_ok(url, r.status);
  return analyse_dataset(r.body);
}
TRIDENT_TASK(mixed_fetch_and_analyse_in_worker);

model_result tally(const std::vector<std::string>& urls, const std::vector<dataset_summary>& summaries) {
  if (summaries.size() != urls.size()) {
    throw std::logic_error(fmt::format("{} summaries for {} datasets", summaries.size(), urls.size()));
  }
  model_result result;
  result.items = urls.size();
  std::size_t cycles = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    result.digest += item_digest(urls[i], 200, summary_digest(summaries[i]));
    if (summaries[i].period_rows > 0) ++cycles;
  }
  result.detail = fmt::format("{} with a daily cycle", cycles);
  return result;
}

model_result run_sequential(const std::vector<std::string>& urls) {
  blocking_fetcher client;
  std::vector<dataset_summary> summaries;
  summaries.reserve(urls.size());
  for (const std::string& url : urls) {
    const fetched r = client.get(url);
    require_ok(url, r.status);
    summaries.push_back(analyse_dataset(r.body));
  }
  return tally(urls, summaries);
}

model_result run_threads(const std::vector<std::string>& urls, std::size_t threads) {
  trident::exec::thread_pool pool(exec::thread_pool_options{threads, fmt::format("threads_{}", threads)});
  const auto fetch_and_analyse = [](const std::string& url) {
    thread_local blocking_fetcher client;  // one per pool thread, closed when the pool ends
    const fetched r = client.get(url);
    require_ok(url, r.status);
    return analyse_dataset(r.body);
  };
  const std::vector<dataset_summary> summaries = pool.map(fetch_and_analyse, urls, 1);
  return tally(urls, summaries);
}

aio::task<std::string> fetch_body(http::session& session, std::string url) {
  http::response r = co_await get_traced(session, url);
  require_ok(url, r.status());
  co_return r.take_body();
}

/// Every dataset through one session, all in flight at once.
aio::task<std::vector<std::string>> fetch_all_bodies(const std::vector<std::string>& urls) {
  http::session_options options;
  options.max_connections = static_cast<int>(urls.size());
  http::session session(options);
  std::vector<aio::task<std::string>> tasks;
  tasks.reserve(urls.size());
  for (const std::string& url : urls) tasks.push_back(fetch_body(session, url));
  co_return co_await aio::gather(std::move(tasks));
}

model_result run_fetch_then_analyse(const std::vector<std::string>& urls, std::size_t workers) {
  proc::process_pool pool(workers);
  const std::vector<std::string> bodies = aio::run(fetch_all_bodies(urls));
  const std::vector<dataset_summary> summaries = pool.map(mixed_analyse_in_worker, bodies);
  return tally(urls, summaries);
}

/// Fetches one dataset and, as soon as it is in, analyses it in the pool while the loop goes on
/// fetching the others. A permit of `ahead` is held from the start of the fetch to the end of
/// the analysis: back-pressure, so when analysis is the slower stage, fetching does not run ahead
/// and pile datasets up in memory.
aio::task<dataset_summary> fetch_and_analyse(http::session& session, proc::process_pool& pool, aio::semaphore& ahead,
                                             std::string url) {
  auto permit = co_await ahead.hold();
  http::response r = co_await get_traced(session, url);
  require_ok(url, r.status());
  std::string body = r.take_body();
  dataset_summary summary = co_await aio::run_in(pool, mixed_analyse_in_worker, std::move(body));
  co_return summary;
}

/// Datasets in the pipeline at once (being fetched, waiting for a worker, or analysed), per
/// worker process. Four per worker keeps the workers busy while fetches wait 100–500 ms for
/// their server (an analysis takes about 170 ms), and bounds memory to a few datasets per worker.
constexpr std::size_t pipeline_depth_per_worker = 4;

aio::task<std::vector<dataset_summary>> pipeline(const std::vector<std::string>& urls, proc::process_pool& pool,
                                                 std::size_t workers) {
  http::session_options options;
  options.max_connections = static_cast<int>(urls.size());
  http::session session(options);
  aio::semaphore ahead(static_cast<std::ptrdiff_t>(pipeline_depth_per_worker * workers));
  std::vector<aio::task<dataset_summary>> tasks;
  tasks.reserve(urls.size());
  for (const std::string& url : urls) tasks.push_back(fetch_and_analyse(session, pool, ahead, url));
  co_return co_await aio::gather(std::move(tasks));
}

model_result run_pipelined(const std::vector<std::string>& urls, std::size_t workers) {
  proc::process_pool pool(workers);
  const std::vector<dataset_summary> summaries = aio::run(pipeline(urls, pool, workers));
  return tally(urls, summaries);
}

}  // namespace

std::vector<dataset_url> draw_datasets(scale size, std::uint64_t seed) {
  const bool full = size == scale::full;
  const std::size_t count = full ? 50 : 12;
  seeded_random random(mix64(seed ^ 0x6d69786564000000ULL));
  std::vector<dataset_url> datasets;
  datasets.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    dataset_url d;
    const std::uint64_t id = random.next() >> 16;
    d.delay_ms = static_cast<unsigned>(full ? random.log_uniform(100, 500) : random.log_uniform(5, 50));
    d.rows = static_cast<std::size_t>(full ? random.uniform(50'000, 100'000) : random.uniform(3'000, 6'000));
    d.path = dataset_path(id, d.delay_ms, d.rows);
    datasets.push_back(std::move(d));
  }
  return datasets;
}

std::vector<model> make_mixed_models(const model_inputs& inputs) {
  const auto urls = std::make_shared<const std::vector<std::string>>(
      nlohmann::json::parse(inputs.json).at("urls").get<std::vector<std::string>>());
  const std::size_t n = urls->size();
  const std::size_t cores = inputs.cores;
  // Enough threads that while some wait for their dataset, others keep every core analysing.
  const std::size_t threads = 4 * cores;
  std::vector<model> models;
  models.push_back({"sequential", "sequential", 1,
                    fmt::format("fetch one dataset (blocking libcurl), analyse it, then the next; {} in all", n),
                    [urls] { return run_sequential(*urls); }});
  models.push_back({fmt::format("threads_{}", threads), "threads", threads,
                    fmt::format("{} threads each fetch (blocking libcurl) and analyse one dataset at a time", threads),
                    [urls, threads] { return run_threads(*urls, threads); }});
  models.push_back({"fetch_then_analyse", "hybrid", cores,
                    fmt::format("fetch all {} through one http::session, then analyse them on {} processes", n, cores),
                    [urls, cores] { return run_fetch_then_analyse(*urls, cores); }});
  models.push_back(
      {"hybrid_pipelined", "hybrid", cores,
       fmt::format("fetch through one http::session; each dataset goes to {} processes as it arrives", cores),
       [urls, cores] { return run_pipelined(*urls, cores); }});
  return models;
}

scenario make_mixed_scenario(const scenario_options& options) {
  const std::size_t cores = options.cores > 0 ? options.cores : std::max(1u, std::thread::hardware_concurrency());
  if (options.say) options.say("mixed: starting the loopback internet");
  auto server = std::make_shared<loopback_internet>();
  auto urls = std::make_shared<std::vector<std::string>>();
  for (const dataset_url& d : draw_datasets(options.size, options.seed)) urls->push_back(server->url(d.path));

  scenario s;
  s.name = "mixed";
  s.title = fmt::format("{} datasets: fetch + analyse", urls->size());
  s.lesson_choice = "hybrid";
  s.resources = server;
  s.inputs = {options.size, cores, nlohmann::json{{"urls", *urls}}.dump()};
  s.models = make_mixed_models(s.inputs);
  s.advise = make_mixed_advise(s.inputs);
  return s;
}

advise_function make_mixed_advise(const model_inputs& inputs) {
  return advise_on_first(inputs, "urls", 12, &mixed_fetch_and_analyse_in_worker);
}

}  // namespace trident::scenarios
