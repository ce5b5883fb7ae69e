// The "images" scenario: CPU-bound work on photos. Each image is decoded from JPEG, resized to
// half, sharpened and encoded to JPEG (quality 85) in memory, once per image, under four models:
// one thread, a thread pool, a process pool and an event loop handing each image to threads.
//
// libvips is used through its C++ API (vips-cpp) rather than the C API: `VImage` holds the
// references to the images of a pipeline, so an error half-way through releases every
// intermediate image without an unref on each path, and libvips errors arrive as exceptions
// (`VError`) that are rethrown here with the file's name.
//
// libvips' own parallelism is turned off (one worker per pipeline, `vips_concurrency_set(1)`) and
// so is its operation cache, so that the model under test is the only parallelism and every run
// really does the work (see docs/scenarios.md, "images").

#include <signal.h>
#include <unistd.h>
#include <vips/vips8>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sample_advise.hpp"
#include "scenario.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/shutdown_mode.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::scenarios {
namespace {

namespace fs = std::filesystem;

/// One size of the input set.
struct image_set {
  const char* label;  ///< "small" or "full": part of the cache folder's name.
  int count;
  int width;
  int height;
};

constexpr image_set small_set{"small", 8, 800, 600};
constexpr image_set full_set{"full", 50, 3000, 2000};

/// Bump when the generated images change, so that old caches are not reused.
constexpr const char* cache_version = "v1";

/// What processing one image gives: the output's size and a hash of its JPEG bytes.
struct image_result {
  int width = 0;
  int height = 0;
  std::uint64_t hash = 0;
  TRIDENT_SERIALIZABLE(width, height, hash)
  friend bool operator==(const image_result&, const image_result&) = default;
};

/// splitmix64's finaliser: spreads the bits of `x` (seeds, digests).
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// FNV-1a, 64 bits: stable across processes and builds (unlike std::hash), so every model,
/// in any process, hashes the same bytes to the same value.
std::uint64_t fnv1a(const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// Starts libvips once per process (the parent and every worker process). Its own threading is
/// set to one worker per pipeline and its operation cache is emptied and disabled: the model
/// under test must be the only parallelism, and a cache would let a second run of the same
/// image skip the work.
void ensure_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("trident") != 0) {
      std::string why = vips_error_buffer();
      vips_error_clear();
      throw std::runtime_error("libvips could not start: " + why);
    }
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
  });
}

/// The first line of libvips' message (a damaged JPEG repeats the same line once per strip);
/// clears libvips' error buffer, which would otherwise keep every earlier message.
std::string vips_message(const vips::VError& e) {
  std::string why = e.what();
  vips_error_clear();
  why = why.substr(0, why.find('\n'));
  return why.empty() ? std::string("libvips failed") : why;
}

/// The job for one image: decode the JPEG at `path`, resize to half, sharpen, encode to JPEG
/// (quality 85, no metadata) in memory. Throws std::runtime_error naming the file for a
/// missing, truncated or corrupt input. Thread-safe; runs in worker processes by name.
image_result images_process_one(const std::string& path) {
  ensure_vips();
  try {
    // Sequential access streams the decode through the pipeline a strip at a time. Any libjpeg
    // warning fails the load: the inputs are generated here, so a warning means damage, and by
    // default libvips would quietly decode a damaged file as grey.
    vips::VImage in = vips::VImage::new_from_file(
        path.c_str(),
        vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_WARNING));
    vips::VImage half = in.resize(0.5);
    vips::VImage sharp = half.sharpen(vips::VImage::option()->set("sigma", 1.0));
    VipsBlob* blob = sharp.jpegsave_buffer(vips::VImage::option()->set("Q", 85)->set("strip", true));
    std::unique_ptr<VipsBlob, void (*)(VipsBlob*)> owned(blob, [](VipsBlob* b) { vips_area_unref(VIPS_AREA(b)); });
    std::size_t size = 0;
    const void* bytes = vips_blob_get(blob, &size);
    return image_result{sharp.width(), sharp.height(), fnv1a(bytes, size)};
  } catch (const vips::VError& e) {
    throw std::runtime_error(fmt::format("image {}: {}", path, vips_message(e)));
  }
}
TRIDENT_TASK(images_process_one);

/// The order-independent digest of a run: the sum of every image's mixed result, so that the
/// models, which finish images in different orders, agree. `detail` gives the output size
/// ("1500x1000 out"), or "sizes differ" if the images did not all come out the same size.
model_result combine(const std::vector<image_result>& results) {
  model_result out;
  out.items = results.size();
  bool same_size = true;
  for (const image_result& r : results) {
    const auto size =
        (static_cast<std::uint64_t>(static_cast<std::uint32_t>(r.width)) << 32) | static_cast<std::uint32_t>(r.height);
    out.digest += mix(r.hash ^ mix(size));
    same_size = same_size && r.width == results.front().width && r.height == results.front().height;
  }
  if (!results.empty()) {
    out.detail = same_size ? fmt::format("{}x{} out", results.front().width, results.front().height) : "sizes differ";
  }
  return out;
}

// ---- the inputs ------------------------------------------------------------------------------

/// A photo-like image of `width`×`height` for `seed`: a lightness of several octaves of Perlin
/// noise with Worley cells (leaves, pebbles), a slowly varying colour cast from two more Perlin
/// layers, and a film grain of Gaussian noise, built in CIELAB and saved as sRGB JPEG (quality
/// 90). Everything is seeded, so the same seed gives the same image.
void generate_image(const fs::path& file, int width, int height, std::uint64_t seed) {
  ensure_vips();
  using vips::VImage;
  const auto seed_of = [seed](int layer) {
    return static_cast<int>(mix(seed * 16 + static_cast<std::uint64_t>(layer)) & 0x7fffffff);
  };
  // Texture scales with the image, so the small set looks like the full one shrunk.
  const auto cell = [width](double fraction) { return std::max(4, static_cast<int>(width * fraction)); };
  const auto perlin = [&](double fraction, int layer) {
    return VImage::perlin(width, height,
                          VImage::option()->set("cell_size", cell(fraction))->set("seed", seed_of(layer)));
  };
  try {
    const int worley_cell = cell(0.03);
    const VImage cells =
        VImage::worley(width, height, VImage::option()->set("cell_size", worley_cell)->set("seed", seed_of(4)));
    const VImage grain = VImage::gaussnoise(
        width, height, VImage::option()->set("sigma", 3.0)->set("mean", 0.0)->set("seed", seed_of(5)));
    // Lightness around 55 (CIELAB 0..100): broad light and shade, then finer detail.
    const VImage lightness = perlin(0.25, 1) * 28 + perlin(0.06, 2) * 12 + perlin(0.015, 3) * 5 +
                             (cells * (-18.0 / worley_cell) + 9) + grain + 55;
    // A colour cast per image (hue from the seed) that drifts across the frame.
    const double hue = static_cast<double>(mix(seed) % 360) * 3.14159265358979 / 180.0;
    const VImage a = perlin(0.4, 6) * 22 + 18 * std::cos(hue);
    const VImage b = perlin(0.4, 7) * 22 + 18 * std::sin(hue);
    const VImage lab =
        lightness.bandjoin(a).bandjoin(b).copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_LAB));
    const VImage rgb = lab.colourspace(VIPS_INTERPRETATION_sRGB).cast(VIPS_FORMAT_UCHAR);
    rgb.jpegsave(file.c_str(), VImage::option()->set("Q", 90)->set("strip", true));
  } catch (const vips::VError& e) {
    throw std::runtime_error(fmt::format("generating {}: {}", file.string(), vips_message(e)));
  }
}

std::vector<fs::path> image_files(const fs::path& dir, const image_set& set) {
  std::vector<fs::path> files;
  files.reserve(static_cast<std::size_t>(set.count));
  for (int i = 0; i < set.count; ++i) files.push_back(dir / fmt::format("image-{:03}.jpg", i));
  return files;
}

bool complete(const fs::path& dir, const image_set& set) {
  std::error_code ec;
  for (const fs::path& f : image_files(dir, set)) {
    if (!fs::is_regular_file(f, ec) || fs::file_size(f, ec) == 0 || ec) return false;
  }
  return true;
}

/// Removes the temporary folders of generations whose process is gone (killed half-way); the
/// process id is the suffix of their name. Folders of generations still running are left alone.
void remove_abandoned_temporaries(const fs::path& root, const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) {
      continue;  // not one of ours
    }
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) == -1 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

/// Removes a folder with its content when the scope ends, unless released.
struct remove_on_exit {
  fs::path path;
  ~remove_on_exit() {
    if (path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// The cached input set in `dir`, generated first if it is not there. The images are written
/// into a temporary folder next to `dir`, which is renamed to `dir` only when every image is
/// written: an interrupted generation never leaves a partial set where a later run would take it.
std::vector<std::string> ensure_inputs(const fs::path& dir, const image_set& set, const scenario_options& options,
                                       std::size_t workers) {
  const auto say = [&](const std::string& line) {
    if (options.say) options.say(line);
  };
  std::vector<std::string> paths;
  for (const fs::path& f : image_files(dir, set)) paths.push_back(f.string());
  if (fs::exists(dir)) {
    if (complete(dir, set)) {
      say(fmt::format("images: using the {} cached images in {}", set.count, dir.string()));
      return paths;
    }
    say(fmt::format("images: {} is incomplete; generating it again", dir.string()));
    fs::remove_all(dir);
  }
  const fs::path root = dir.parent_path();
  fs::create_directories(root);
  const std::string prefix = "." + dir.filename().string() + ".tmp-";
  remove_abandoned_temporaries(root, prefix);
  remove_on_exit temporary{root / (prefix + std::to_string(::getpid()))};
  fs::remove_all(temporary.path);
  fs::create_directory(temporary.path);

  say(fmt::format("images: generating {} photo-like JPEGs of {}x{} into {} (once; later runs reuse them)…", set.count,
                  set.width, set.height, dir.string()));
  const auto started = std::chrono::steady_clock::now();
  const auto base_seed = mix(options.seed);
  const std::vector<fs::path> files = image_files(temporary.path, set);
  {
    exec::thread_pool pool(workers);
    std::vector<exec::future<void>> done;
    for (int i = 0; i < set.count; ++i) {
      const fs::path file = files[static_cast<std::size_t>(i)];
      const std::uint64_t seed = base_seed + static_cast<std::uint64_t>(i);
      done.push_back(pool.submit([file, seed, &set] { generate_image(file, set.width, set.height, seed); }));
    }
    const std::size_t step = std::max<std::size_t>(1, done.size() / 5);
    try {
      for (std::size_t i = 0; i < done.size(); ++i) {
        done[i].get();
        if ((i + 1) % step == 0 && i + 1 < done.size()) say(fmt::format("images: {}/{}", i + 1, done.size()));
      }
    } catch (...) {
      // The first failure ends the generation: images not started are dropped, those running
      // finish before the temporary folder goes.
      pool.shutdown(shutdown_mode::cancel_pending);
      throw;
    }
  }
  std::uintmax_t bytes = 0;
  for (const fs::path& f : files) bytes += fs::file_size(f);

  std::error_code ec;
  fs::rename(temporary.path, dir, ec);
  if (ec) {
    // Another process may have finished the same set first: use its copy (ours goes).
    if (!complete(dir, set)) {
      throw std::system_error(ec, fmt::format("images: cannot move the generated images to {}", dir.string()));
    }
  } else {
    temporary.path.clear();
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  say(fmt::format("images: generated {} images ({:.1f} MB) in {:.1f} s", set.count, static_cast<double>(bytes) / 1e6,
                  took.count()));
  return paths;
}

// ---- the models ------------------------------------------------------------------------------

using path_list = std::shared_ptr<const std::vector<std::string>>;

model_result run_sequential(const path_list& paths) {
  std::vector<image_result> results;
  results.reserve(paths->size());
  for (const std::string& p : *paths) results.push_back(images_process_one(p));
  return combine(results);
}

model_result run_threads(const path_list& paths, std::size_t threads) {
  exec::thread_pool pool(exec::thread_pool_options{threads, fmt::format("threads_{}", threads)});
  std::vector<exec::future<image_result>> pending;
  pending.reserve(paths->size());
  for (const std::string& p : *paths) pending.push_back(pool.submit(&images_process_one, p));
  std::vector<image_result> results;
  results.reserve(pending.size());
  for (auto& f : pending) results.push_back(f.get());
  return combine(results);
}

model_result run_processes(const path_list& paths, std::size_t workers) {
  proc::process_pool pool(workers);
  const std::vector<image_result> results = pool.map(&images_process_one, *paths);
  return combine(results);
}

aio::task<image_result> process_on(exec::thread_pool& pool, std::string path) {
  auto call = aio::run_in(pool, &images_process_one, path);
  image_result r = co_await std::move(call);
  co_return r;
}

aio::task<std::vector<image_result>> process_all_on(exec::thread_pool& pool, path_list paths) {
  std::vector<aio::task<image_result>> each;
  each.reserve(paths->size());
  for (const std::string& p : *paths) each.push_back(process_on(pool, p));
  auto all = aio::gather(std::move(each));
  std::vector<image_result> results = co_await std::move(all);
  co_return results;
}

model_result run_async_to_thread(const path_list& paths, std::size_t threads) {
  // `aio::to_thread` is `run_in` on the process-wide blocking pool, which has at least 4 threads
  // and lives until exit; a pool of `threads` made here keeps the stated concurrency and lets
  // the measurement see the model's whole cost, as for the other models.
  exec::thread_pool pool(exec::thread_pool_options{threads, "async_to_thread"});
  auto main_task = process_all_on(pool, paths);
  const std::vector<image_result> results = aio::run(std::move(main_task));
  return combine(results);
}

}  // namespace

std::vector<model> make_images_models(const model_inputs& inputs) {
  const image_set& set = inputs.size == scale::full ? full_set : small_set;
  const std::size_t cores = inputs.cores;
  const auto paths = std::make_shared<const std::vector<std::string>>(
      nlohmann::json::parse(inputs.json).at("paths").get<std::vector<std::string>>());
  const std::string what =
      fmt::format("{} images of {}x{}: decode, half size, sharpen, JPEG q85", paths->size(), set.width, set.height);
  std::vector<model> models;
  models.push_back(model{"sequential", "sequential", 1, what + ", one after another on this thread",
                         [paths] { return run_sequential(paths); }});
  models.push_back(model{fmt::format("threads_{}", cores), "threads", cores,
                         fmt::format("{}, on a thread pool of {} threads", what, cores),
                         [paths, cores] { return run_threads(paths, cores); }});
  models.push_back(model{fmt::format("processes_{}", cores), "processes", cores,
                         fmt::format("{}, on a process pool of {} workers (file path in, result out)", what, cores),
                         [paths, cores] { return run_processes(paths, cores); }});
  models.push_back(model{"async_to_thread", "async", cores,
                         fmt::format("{}, an event loop gathering one run_in per image on {} threads", what, cores),
                         [paths, cores] { return run_async_to_thread(paths, cores); }});
  return models;
}

scenario make_images_scenario(const scenario_options& options) {
  ensure_vips();
  const image_set& set = options.size == scale::full ? full_set : small_set;
  const std::size_t cores =
      options.cores != 0 ? options.cores : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  const fs::path cache = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  const fs::path dir = cache / "scenarios" / fmt::format("images-{}-{}-{}", cache_version, options.seed, set.label);
  auto paths = std::make_shared<const std::vector<std::string>>(ensure_inputs(dir, set, options, cores));

  scenario s;
  s.name = "images";
  s.title = fmt::format("{} images", set.count);
  s.lesson_choice = "processes";
  s.inputs = {options.size, cores, nlohmann::json{{"paths", *paths}}.dump()};
  s.models = make_images_models(s.inputs);
  s.advise = make_images_advise(s.inputs);
  return s;
}

advise_function make_images_advise(const model_inputs& inputs) {
  return advise_on_first(inputs, "paths", 8, &images_process_one);
}

}  // namespace trident::scenarios
