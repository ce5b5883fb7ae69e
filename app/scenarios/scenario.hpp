#pragma once
/// @file
/// The lesson's "choosing the right approach" scenarios, run for real: what one scenario is
/// (a set-up and the models it runs under), and what each model's run returns. `trident
/// scenarios`, the tour's last section, `trident advise` and `trident bench scenarios` run them.
///
/// A scenario is made by its factory (`make_web_scenario` …), which does the set-up that is not
/// measured — starting the loopback server, generating or finding the cached images, starting
/// the private PostgreSQL server and loading its table — and returns the models. Each model's
/// `run` does the whole job once under that model, creating and destroying its own pools, so
/// `advisor::measure` around it sees everything the model costs. The resources of the set-up
/// live in `scenario::resources` and are released when the scenario is destroyed (the server
/// stopped, the database removed).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "trident/advisor/advise.hpp"

namespace trident::scenarios {

/// The scale of a run: `small` for tests and the tour (a few seconds in all), `full` for the
/// lesson's sizes (200 URLs, 50 images of 3000×2000, 10 queries on a table of millions of rows,
/// 50 datasets).
enum class scale { small, full };

/// What a factory is given.
struct scenario_options {
  scale size = scale::full;
  std::uint64_t seed = 42;  ///< Seeds every random choice (latencies, sizes, image texture).
  /// Where generated inputs are kept between runs (images). Default: $XDG_CACHE_HOME/trident or
  /// ~/.cache/trident (see `default_cache_dir`).
  std::filesystem::path cache_dir;
  /// Worker count for thread and process pools that use "one per core".
  std::size_t cores = 0;  ///< 0: the number of hardware threads.
  /// Progress lines during set-up (e.g. "generating 50 images…"); may be empty.
  std::function<void(const std::string&)> say;
};

/// What one run of a model returns. Every model of a scenario must return the same `items`,
/// `failed` and `digest` for the same options: that is how the runner checks that they did the
/// same work ("every model produced the same results").
struct model_result {
  std::size_t items = 0;     ///< Items handled (URLs, images, queries, datasets).
  std::size_t failed = 0;    ///< Items that failed as the scenario expects (e.g. the failing URLs).
  std::uint64_t digest = 0;  ///< Order-independent digest of the results (e.g. a sum of per-item hashes).
  std::string detail;        ///< Optional extra for the table (e.g. "3 retried").
};

/// What a scenario's models need from its set-up: enough to make the same models again in another
/// process of the same program (`make_models`), where the runner measures each model alone.
struct model_inputs {
  scale size = scale::full;
  std::size_t cores = 1;  ///< Worker count of the "one per core" pools, resolved (never 0).
  /// What the set-up made, as one JSON object: web and mixed {"urls":[…]}, images {"paths":[…]},
  /// db {"dsn":"…","queries":[…]}. `trident bench scenarios` gives the same object to the lesson's
  /// Python scripts (app/bench/compare/scenarios/lesson_scenarios.py).
  std::string json;
};

/// Runs `advisor::advise` on a sample of a scenario's items with its per-item work.
using advise_function = std::function<advisor::advice(const advisor::advise_options&)>;

/// One way of running the scenario's job.
struct model {
  /// Name in tables and JSON, e.g. "sequential", "threads_10", "threads_200", "processes_2",
  /// "async_50", "async_200", "async_to_thread", "async_libpq", "hybrid", "hybrid_pipelined".
  std::string name;
  /// Family, for the rules that compare kinds: "sequential", "threads", "processes", "async",
  /// "hybrid".
  std::string family;
  /// Configured concurrency (threads, processes or requests in flight); 1 for sequential.
  std::size_t concurrency = 1;
  /// One line for people: "200 URLs through 200 threads, one blocking request each".
  std::string description;
  /// Does the job once. Throws on an unexpected failure (the runner reports the model as failed
  /// and goes on with the others).
  std::function<model_result()> run;
};

/// A scenario ready to run.
struct scenario {
  std::string name;   ///< "web", "images", "db", "mixed".
  std::string title;  ///< "200 URLs", "50 images", "10 database queries", "50 datasets: fetch + analyse".
  /// The model the lesson's guide recommends, by family ("async", "processes", "threads", "hybrid"),
  /// to compare with the computed recommendation.
  std::string lesson_choice;
  std::vector<model> models;
  /// Runs `advisor::advise` on a sample of this scenario's items with its per-item work (for
  /// `trident advise`); empty when the scenario's work does not split into items.
  advise_function advise;
  /// What the models need from the set-up; `make_models(name, inputs)` makes them again.
  model_inputs inputs;
  /// Set-up resources (server, database, …); destroyed with the scenario.
  std::shared_ptr<void> resources;
};

/// Thrown by a factory when the scenario cannot run here, with what to do about it (e.g.
/// "PostgreSQL is not installed: sudo apt-get install postgresql"). The runner prints it and
/// skips the scenario; it is not a failure of the command.
class scenario_skipped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// $XDG_CACHE_HOME/trident, else $HOME/.cache/trident, else /tmp/trident-cache-UID.
[[nodiscard]] std::filesystem::path default_cache_dir();

// The factories, one per scenario (web.cpp, images.cpp, db.cpp, mixed.cpp).
[[nodiscard]] scenario make_web_scenario(const scenario_options& options);
[[nodiscard]] scenario make_images_scenario(const scenario_options& options);
[[nodiscard]] scenario make_db_scenario(const scenario_options& options);
[[nodiscard]] scenario make_mixed_scenario(const scenario_options& options);

// The models of each scenario, made from what its set-up made (the factories call these too).
[[nodiscard]] std::vector<model> make_web_models(const model_inputs& inputs);
[[nodiscard]] std::vector<model> make_images_models(const model_inputs& inputs);
[[nodiscard]] std::vector<model> make_db_models(const model_inputs& inputs);
[[nodiscard]] std::vector<model> make_mixed_models(const model_inputs& inputs);

// Each scenario's advise function, made from what its set-up made (the factories call these too).
[[nodiscard]] advise_function make_web_advise(const model_inputs& inputs);
[[nodiscard]] advise_function make_images_advise(const model_inputs& inputs);
[[nodiscard]] advise_function make_db_advise(const model_inputs& inputs);
[[nodiscard]] advise_function make_mixed_advise(const model_inputs& inputs);

/// The scenario names in order, and the factory for a name (nullptr for an unknown one).
[[nodiscard]] const std::vector<std::string>& scenario_names();
using factory = scenario (*)(const scenario_options&);
[[nodiscard]] factory find_factory(const std::string& name);

/// The models of scenario `name` made from `inputs`, as its factory made them; empty for an
/// unknown name. Throws what the scenario's model maker throws for inputs it cannot read.
[[nodiscard]] std::vector<model> make_models(const std::string& name, const model_inputs& inputs);

/// The advise function of scenario `name` made from `inputs`, as its factory made it; empty for
/// an unknown name.
[[nodiscard]] advise_function make_advise(const std::string& name, const model_inputs& inputs);

}  // namespace trident::scenarios
