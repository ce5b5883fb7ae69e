// The db scenario: ten queries on a private PostgreSQL server, under five models — one
// connection in turn, ten threads, a process pool, aio::to_thread, and libpq's own non-blocking
// API driven by the event loop.

#include "db.hpp"

#include <libpq-fe.h>
#include <nlohmann/json.hpp>
#include <poll.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/lowlevel.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/task.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::scenarios {
namespace {

constexpr std::size_t query_count = 10;

// Each query reads most of `orders` (3 M rows at full size): hashed aggregates, joins with
// `customers`, a sort for percentiles, windows, an anti-join. Results are small and exact
// (integers, numerics rounded in SQL), so every model sees the same text.
const std::array<const char*, query_count> query_texts = {
    // 0. Revenue per region in the last quarter: a join and a hashed aggregate.
    "SELECT c.region, count(*), sum(o.quantity * o.price_cents) FROM orders o "
    "JOIN customers c ON c.id = o.customer_id WHERE o.ordered_on >= DATE '2025-10-01' "
    "GROUP BY c.region ORDER BY c.region",
    // 1. The 20 customers who spent most on orders of one status: 1 group per customer, top-N.
    "SELECT customer_id, sum(quantity * price_cents) AS spent FROM orders WHERE status = 3 "
    "GROUP BY customer_id ORDER BY spent DESC, customer_id LIMIT 20",
    // 2. Distinct products per customer segment: a join and a sort per group.
    "SELECT c.segment, count(DISTINCT o.product_id) FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE o.status = 2 AND o.quantity <= 4 GROUP BY c.segment ORDER BY c.segment",
    // 3. Statistics per status over the whole table.
    "SELECT status, count(*), round(avg(price_cents), 6), min(price_cents), max(price_cents), "
    "round(stddev_samp(quantity), 6) FROM orders GROUP BY status ORDER BY status",
    // 4. Price percentiles of one status: a sort.
    "SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY price_cents) FROM orders "
    "WHERE status = 1",
    // 5. Orders dearer than their customer's mean: a window over a partitioned sort.
    "SELECT count(*) FROM (SELECT price_cents, avg(price_cents) OVER (PARTITION BY customer_id) AS mean "
    "FROM orders WHERE quantity = 9) t WHERE price_cents > mean",
    // 6. Orders per day with a running total: an aggregate, then a window.
    "SELECT ordered_on, n, sum(n) OVER (ORDER BY ordered_on) FROM "
    "(SELECT ordered_on, count(*) AS n FROM orders GROUP BY ordered_on) t ORDER BY ordered_on",
    // 7. Customers without an order in ten days of January: an anti-join.
    "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE "
    "o.customer_id = c.id AND o.ordered_on BETWEEN DATE '2025-01-01' AND DATE '2025-01-10')",
    // 8. Frequent and rare customers per region: an aggregate per customer, joined, aggregated.
    "SELECT c.region, count(*) FILTER (WHERE x.n >= 9), count(*) FILTER (WHERE x.n <= 3), round(avg(x.n), 6) "
    "FROM (SELECT customer_id, count(*) AS n FROM orders WHERE status = 0 GROUP BY customer_id) x "
    "JOIN customers c ON c.id = x.customer_id GROUP BY c.region ORDER BY c.region",
    // 9. Quantity and mean price per product family and quarter.
    "SELECT product_id % 50 AS family, extract(quarter FROM ordered_on) AS quarter, sum(quantity), "
    "round(avg(price_cents), 4) FROM orders WHERE status IN (0, 1) GROUP BY 1, 2 ORDER BY 1, 2",
};

// -- libpq, blocking -----------------------------------------------------------------------------

struct connection_closer {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using connection_ptr = std::unique_ptr<PGconn, connection_closer>;

struct result_clearer {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_clearer>;

/// libpq's message on one line (it breaks long ones with a newline and a tab), for tables.
std::string trimmed(const char* message) {
  std::string text;
  bool space = false;
  for (const char* p = message != nullptr ? message : ""; *p != '\0'; ++p) {
    if (*p == '\n' || *p == '\t' || *p == ' ') {
      space = !text.empty();
      continue;
    }
    if (space) text += ' ';
    space = false;
    text += *p;
  }
  return text;
}

connection_ptr connect_blocking(const std::string& conninfo) {
  connection_ptr c(PQconnectdb(conninfo.c_str()));
  if (!c) throw std::bad_alloc();
  if (PQstatus(c.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(c.get())));
  }
  return c;
}

/// Throws unless `r` is a successful result of `what`.
void check(const PGresult* r, PGconn* c, ExecStatusType expected, const std::string& what) {
  if (r == nullptr) throw std::runtime_error(what + " failed: " + trimmed(PQerrorMessage(c)));
  if (PQresultStatus(r) != expected) {
    throw std::runtime_error(what + " failed: " + trimmed(PQresultErrorMessage(r)));
  }
}

void execute(PGconn* c, const std::string& sql, const std::string& what) {
  const result_ptr r(PQexec(c, sql.c_str()));
  check(r.get(), c, PGRES_COMMAND_OK, what);
}

/// FNV-1a over the result's text: every value, tab-separated, one line per row, NULL as \N.
std::uint64_t hash_result(const PGresult* r) {
  std::uint64_t h = 14695981039346656037ull;
  const auto add = [&h](const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      h ^= static_cast<unsigned char>(data[i]);
      h *= 1099511628211ull;
    }
  };
  const int rows = PQntuples(r);
  const int columns = PQnfields(r);
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      if (column > 0) add("\t", 1);
      if (PQgetisnull(r, row, column) != 0) {
        add("\\N", 2);
      } else {
        add(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
      }
    }
    add("\n", 1);
  }
  return h;
}

/// Query `index`'s share of the digest: its result's hash mixed with its index (splitmix64), so
/// the digest — the sum of the shares — does not depend on the order the queries finished in.
std::uint64_t item_digest(std::size_t index, std::uint64_t result_hash) {
  std::uint64_t z = result_hash + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string query_label(std::size_t index) { return "query " + std::to_string(index); }

std::uint64_t run_query(PGconn* c, std::size_t index) {
  if (index >= query_count) throw std::out_of_range("no query " + std::to_string(index));
  const trace::span span("query", "db", query_label(index));
  const result_ptr r(PQexec(c, query_texts[index]));
  check(r.get(), c, PGRES_TUPLES_OK, query_label(index));
  return item_digest(index, hash_result(r.get()));
}

/// One query on a connection of its own (threads, to_thread).
std::uint64_t query_on_own_connection(const std::string& conninfo, std::size_t index) {
  const connection_ptr c = connect_blocking(conninfo);
  return run_query(c.get(), index);
}

/// One query in a process-pool worker, on the connection the worker keeps for the pool's life
/// (it closes when the worker exits).
std::uint64_t db_query_in_worker(std::string conninfo, std::uint64_t index) {
  static std::string connected_to;
  static connection_ptr connection;
  if (!connection || connected_to != conninfo || PQstatus(connection.get()) != CONNECTION_OK) {
    connection.reset();
    connection = connect_blocking(conninfo);
    connected_to = conninfo;
  }
  return run_query(connection.get(), static_cast<std::size_t>(index));
}
TRIDENT_TASK(db_query_in_worker);

/// One query on a connection of its own, for `trident advise`: the sample item carries the
/// server and the query's index. Thread-safe (nothing shared), and registered, so the advisor
/// measures the process model too.
std::uint64_t db_query_sample(std::pair<std::string, std::uint64_t> item) {
  return query_on_own_connection(item.first, item.second);
}
TRIDENT_TASK(db_query_sample);

model_result result_of(const std::vector<std::uint64_t>& digests) {
  model_result r;
  r.items = digests.size();
  for (const auto d : digests) r.digest += d;
  return r;
}

// -- libpq's non-blocking API on the event loop --------------------------------------------------

/// Whether `fd` is ready for `events` now. Registration is edge-triggered and libpq may leave
/// bytes in the socket after a call (it reads into a bounded buffer), so a wait is only started
/// when the socket has nothing for us: no edge can then have been missed.
bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 0) > 0;
}

/// A libpq connection whose socket is registered with the running event loop. Unregisters, then
/// closes, when destroyed (on the loop thread, where the coroutine that owns it ends).
///
/// Assumes one Unix-socket host without GSS or SSL: libpq then keeps one socket for the whole
/// connection, so it is registered once.
class loop_connection {
 public:
  explicit loop_connection(PGconn* c) : connection_(c) {
    if (!connection_) throw std::bad_alloc();
  }
  loop_connection(const loop_connection&) = delete;
  loop_connection& operator=(const loop_connection&) = delete;
  ~loop_connection() {
    if (io_.loop != nullptr) io_.loop->remove_io(io_);
  }

  [[nodiscard]] PGconn* get() const noexcept { return connection_.get(); }

  /// Registers libpq's socket with the running loop (once it has one).
  void watch() {
    if (io_.loop != nullptr) return;
    const int fd = PQsocket(connection_.get());
    if (fd < 0) throw std::runtime_error("cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(connection_.get())));
    io_.fd = fd;
    aio::event_loop::running().add_io(io_);
  }

  /// Suspends until the socket may be readable (or writable), unless it is already.
  aio::task<void> wait(bool for_write) {
    watch();
    if (ready_now(io_.fd, for_write ? POLLOUT : POLLIN)) co_return;
    if (for_write) {
      auto writable = aio::lowlevel::wait_writable(io_);
      co_await writable;
    } else {
      auto readable = aio::lowlevel::wait_readable(io_);
      co_await readable;
    }
  }

  [[nodiscard]] std::string error() const { return trimmed(PQerrorMessage(connection_.get())); }

 private:
  connection_ptr connection_;
  aio::lowlevel::io_handle io_;
};

/// Connects (PQconnectStart / PQconnectPoll), sends query `index` (PQsendQuery, PQflush), and
/// reads its result (PQconsumeInput, PQisBusy, PQgetResult), suspending on the socket whenever
/// libpq would block.
///
/// Cancellation: every wait is a cancellation point (a sibling's failure cancels the gather).
/// The connection is then closed; the server finishes the query, finds the client gone when it
/// sends the result, and ends that backend.
aio::task<std::uint64_t> query_with_libpq_async(std::string conninfo, std::size_t index) {
  // Queries in flight together on the loop's thread: asynchronous spans on a timeline.
  const std::uint64_t trace_start = trace::enabled() ? trace::now_ns() : 0;
  loop_connection c(PQconnectStart(conninfo.c_str()));
  if (PQstatus(c.get()) == CONNECTION_BAD) throw std::runtime_error("cannot connect to PostgreSQL: " + c.error());
  // libpq's rule: begin as if PQconnectPoll had answered "writing".
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) throw std::runtime_error("cannot connect to PostgreSQL: " + c.error());
    const bool for_write = state == PGRES_POLLING_WRITING;
    co_await c.wait(for_write);
    state = PQconnectPoll(c.get());
  }
  if (PQsetnonblocking(c.get(), 1) != 0) throw std::runtime_error("PQsetnonblocking failed: " + c.error());
  if (PQsendQuery(c.get(), query_texts[index]) == 0)
    throw std::runtime_error(query_label(index) + " failed: " + c.error());
  for (;;) {
    const int flushed = PQflush(c.get());
    if (flushed == 0) break;
    if (flushed < 0) throw std::runtime_error(query_label(index) + " failed: " + c.error());
    // The server may answer (a notice) while we still send: read what came, or wait to write.
    if (ready_now(PQsocket(c.get()), POLLIN)) {
      if (PQconsumeInput(c.get()) == 0) throw std::runtime_error(query_label(index) + " failed: " + c.error());
    } else {
      co_await c.wait(true);
    }
  }
  std::uint64_t digest = 0;
  bool answered = false;
  for (;;) {
    while (PQisBusy(c.get()) != 0) {
      co_await c.wait(false);
      if (PQconsumeInput(c.get()) == 0) throw std::runtime_error(query_label(index) + " failed: " + c.error());
    }
    const result_ptr r(PQgetResult(c.get()));
    if (!r) break;
    check(r.get(), c.get(), PGRES_TUPLES_OK, query_label(index));
    digest = item_digest(index, hash_result(r.get()));
    answered = true;
  }
  if (!answered) throw std::runtime_error(query_label(index) + " returned no result");
  if (trace_start != 0) trace::record_async("query", "db", trace_start, trace::now_ns(), query_label(index));
  co_return digest;
}

aio::task<std::vector<std::uint64_t>> all_with_libpq_async(std::string conninfo) {
  std::vector<aio::task<std::uint64_t>> queries;
  for (std::size_t i = 0; i < query_count; ++i) queries.push_back(query_with_libpq_async(conninfo, i));
  auto all = aio::gather(std::move(queries));
  co_return co_await std::move(all);
}

aio::task<std::uint64_t> query_to_thread(std::string conninfo, std::size_t index) {
  auto job = [conninfo, index] { return query_on_own_connection(conninfo, index); };
  co_return co_await aio::to_thread(job);
}

aio::task<std::vector<std::uint64_t>> all_to_thread(std::string conninfo) {
  std::vector<aio::task<std::uint64_t>> queries;
  for (std::size_t i = 0; i < query_count; ++i) queries.push_back(query_to_thread(conninfo, i));
  auto all = aio::gather(std::move(queries));
  co_return co_await std::move(all);
}

// -- Set-up --------------------------------------------------------------------------------------

/// The scenario's resources; its deleter type marks them, so `db_server_of` can find them in a
/// `shared_ptr<void>`.
struct db_resources {
  explicit db_resources(const postgres_options& options) : server(options) {}
  postgres_server server;
};
struct db_resources_deleter {
  void operator()(db_resources* r) const noexcept { delete r; }
};

/// Creates and fills the tables in one connection: one INSERT … SELECT generate_series per
/// table, values from hashes of the row number seeded by `seed` (so they do not depend on the
/// order rows are made in), then VACUUM (FREEZE, ANALYZE) so that no query pays for hint bits
/// or guesses its plan.
void load_tables(const std::string& conninfo, const db_table_sizes& sizes, std::uint64_t seed) {
  const connection_ptr c = connect_blocking(conninfo);
  const std::string s = std::to_string(static_cast<std::int64_t>(seed));
  // hashintNextended(i, seed) is a signed 64-bit hash: masked, it is a non-negative one.
  const auto hashed = [&s](const char* fn, const char* column, int salt) {
    return std::string("(") + fn + "(" + column + ", " + s + " + " + std::to_string(salt) + ") & 9223372036854775807)";
  };
  const std::string customers = std::to_string(sizes.customers);
  const std::string orders = std::to_string(sizes.orders);
  execute(c.get(),
          "CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, region text NOT NULL, "
          "segment text NOT NULL, signed_up date NOT NULL)",
          "creating table customers");
  execute(c.get(),
          "CREATE TABLE orders (id bigint NOT NULL, customer_id integer NOT NULL, product_id integer NOT NULL, "
          "quantity integer NOT NULL, price_cents integer NOT NULL, ordered_on date NOT NULL, "
          "status smallint NOT NULL)",
          "creating table orders");
  execute(c.get(),
          "INSERT INTO customers SELECT i, 'customer ' || lpad(i::text, 6, '0'), "
          "(ARRAY['north','south','east','west','central','islands'])[1 + " +
              hashed("hashint4extended", "i", 1) +
              " % 6], "
              "(ARRAY['consumer','small business','enterprise','public sector'])[1 + " +
              hashed("hashint4extended", "i", 2) +
              " % 4], "
              "DATE '2020-01-01' + (" +
              hashed("hashint4extended", "i", 3) +
              " % 1800)::integer "
              "FROM generate_series(1, " +
              customers + ") AS i",
          "loading table customers");
  execute(c.get(),
          "INSERT INTO orders SELECT i, 1 + " + hashed("hashint8extended", "i", 4) + " % " + customers +
              ", "
              "1 + " +
              hashed("hashint8extended", "i", 5) +
              " % 5000, "
              "1 + " +
              hashed("hashint8extended", "i", 6) +
              " % 9, "
              "100 + " +
              hashed("hashint8extended", "i", 7) +
              " % 99900, "
              "DATE '2024-01-01' + (" +
              hashed("hashint8extended", "i", 8) +
              " % 730)::integer, "
              "(" +
              hashed("hashint8extended", "i", 9) +
              " % 5)::smallint "
              "FROM generate_series(1, " +
              orders + "::bigint) AS i",
          "loading table orders");
  execute(c.get(), "VACUUM (FREEZE, ANALYZE) customers, orders", "vacuuming the tables");
}

std::size_t hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

db_table_sizes db_sizes(scale size) noexcept {
  return size == scale::full ? db_table_sizes{3'000'000, 100'000} : db_table_sizes{120'000, 4'000};
}

const std::array<const char*, 10>& db_queries() noexcept { return query_texts; }

const postgres_server* db_server_of(const scenario& s) noexcept {
  if (std::get_deleter<db_resources_deleter>(s.resources) == nullptr) return nullptr;
  return &static_cast<const db_resources*>(s.resources.get())->server;
}

scenario make_db_scenario(const scenario_options& options) {
  const db_table_sizes sizes = db_sizes(options.size);
  postgres_options server_options;
  // The tables (~200 MB at full size) stay in the server's own buffers.
  server_options.shared_buffers = options.size == scale::full ? "512MB" : "128MB";
  if (options.say) options.say("db: starting a private PostgreSQL server");
  std::shared_ptr<db_resources> resources(new db_resources(server_options), db_resources_deleter{});
  const std::string conninfo = resources->server.conninfo();
  if (options.say) {
    options.say("db: generating " + std::to_string(sizes.orders) + " orders and " + std::to_string(sizes.customers) +
                " customers");
  }
  load_tables(conninfo, sizes, options.seed);

  scenario s;
  s.name = "db";
  s.title = "10 database queries";
  s.lesson_choice = "threads";
  s.resources = resources;
  nlohmann::json queries = nlohmann::json::array();
  for (const char* text : db_queries()) queries.push_back(text);
  const std::size_t cores = options.cores != 0 ? options.cores : hardware_threads();
  s.inputs = {options.size, cores, nlohmann::json{{"dsn", conninfo}, {"queries", queries}}.dump()};
  s.models = make_db_models(s.inputs);
  s.advise = make_db_advise(s.inputs);
  return s;
}

advise_function make_db_advise(const model_inputs& inputs) {
  const std::string conninfo = nlohmann::json::parse(inputs.json).at("dsn").get<std::string>();
  std::vector<std::pair<std::string, std::uint64_t>> sample;
  for (std::uint64_t i = 0; i < query_count; ++i) sample.emplace_back(conninfo, i);
  return [sample = std::move(sample)](const advisor::advise_options& advise_options) {
    return advisor::advise(db_query_sample, sample, advise_options);
  };
}

std::vector<model> make_db_models(const model_inputs& inputs) {
  const std::string conninfo = nlohmann::json::parse(inputs.json).at("dsn").get<std::string>();
  std::vector<model> models;
  models.push_back({"sequential", "sequential", 1, "10 queries in turn on one connection", [conninfo] {
                      const connection_ptr c = connect_blocking(conninfo);
                      std::vector<std::uint64_t> digests;
                      for (std::size_t i = 0; i < query_count; ++i) digests.push_back(run_query(c.get(), i));
                      return result_of(digests);
                    }});

  models.push_back({"threads_10", "threads", query_count,
                    "10 threads of a thread pool, each query blocking on a connection of its own", [conninfo] {
                      exec::thread_pool pool(exec::thread_pool_options{query_count, "threads_10"});
                      std::vector<exec::future<std::uint64_t>> futures;
                      for (std::size_t i = 0; i < query_count; ++i) {
                        futures.push_back(pool.submit(query_on_own_connection, conninfo, i));
                      }
                      std::vector<std::uint64_t> digests;
                      for (auto& f : futures) digests.push_back(f.get());
                      return result_of(digests);
                    }});

  const std::size_t workers = std::min(query_count, inputs.cores);
  models.push_back({"processes_" + std::to_string(workers), "processes", workers,
                    std::to_string(workers) + " worker processes, each keeping one connection for its queries",
                    [conninfo, workers] {
                      proc::process_pool pool(workers);
                      std::vector<exec::future<std::uint64_t>> futures;
                      for (std::uint64_t i = 0; i < query_count; ++i) {
                        futures.push_back(pool.submit(db_query_in_worker, conninfo, i));
                      }
                      std::vector<std::uint64_t> digests;
                      for (auto& f : futures) digests.push_back(f.get());
                      return result_of(digests);
                    }});

  models.push_back({"async_libpq", "async", query_count,
                    "10 connections on one event-loop thread, through libpq's own non-blocking API",
                    [conninfo] { return result_of(aio::run(all_with_libpq_async(conninfo))); }});

  // aio::default_blocking_pool's documented size: one thread per hardware thread, at least 4.
  const std::size_t to_thread_threads = std::min(query_count, std::max<std::size_t>(4, hardware_threads()));
  models.push_back({"async_to_thread", "async", to_thread_threads,
                    "10 blocking queries handed to aio::to_thread (" + std::to_string(to_thread_threads) +
                        " threads at once), gathered on the event loop",
                    [conninfo] { return result_of(aio::run(all_to_thread(conninfo))); }});
  return models;
}

}  // namespace trident::scenarios
