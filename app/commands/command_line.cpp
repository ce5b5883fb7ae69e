#include "command_line.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

#include "exit_codes.hpp"
#include "program_path.hpp"
#include "trident/trace/html_timeline.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::cli {
namespace {

using app::beside_this_program;

/// The subcommand of `app` called `name`, or null.
CLI::App* subcommand_named(CLI::App& app, const std::string& name) {
  try {
    return app.get_subcommand(name);
  } catch (const CLI::OptionNotFound&) {
    return nullptr;
  }
}

bool installed(const forwarded_command& f) { return ::access(beside_this_program(f.executable).c_str(), X_OK) == 0; }

/// Replaces this process with `f`'s executable, given this program's arguments after argv[0].
/// Returns only when that fails, with the exit code to end with.
int exec_forwarded(std::string_view program, const forwarded_command& f, int argc, char** argv) {
  const std::string path = beside_this_program(f.executable).string();
  std::vector<char*> args;
  args.push_back(const_cast<char*>(path.c_str()));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv(path.c_str(), args.data());
  const int error = errno;
  if (error == ENOENT) {
    std::fprintf(stderr,
                 "%.*s: '%s' is not installed: %s is not next to this program (%s); install the trident "
                 "package, or build the target %s\n",
                 static_cast<int>(program.size()), program.data(), f.word, f.executable, path.c_str(), f.executable);
  } else {
    std::fprintf(stderr, "%.*s: cannot run %s: %s\n", static_cast<int>(program.size()), program.data(), path.c_str(),
                 std::strerror(error));
  }
  return exit_code::usage;
}

/// The forwarded command that `argv` asks for, if any: `WORD ...`, or `bench [options] SUITE ...`
/// for a forwarded suite. `command_at` is the index of the command word.
const forwarded_command* forwarded_for(CLI::App& app, std::span<const forwarded_command> forwarded, int argc,
                                       char** argv, int command_at) {
  const std::string word = argv[command_at];
  for (const auto& f : forwarded) {
    if (!f.bench_suite && word == f.word) return &f;
  }
  if (word != "bench") return nullptr;
  CLI::App* bench = subcommand_named(app, "bench");
  for (int i = command_at + 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return nullptr;
    if (arg.size() > 1 && arg[0] == '-') {
      // An option of `bench` that takes a value in the next word (--repeat 3): skip that word.
      const CLI::Option* option = bench ? bench->get_option_no_throw(arg) : nullptr;
      if (option != nullptr && arg.find('=') == std::string::npos && option->get_items_expected_min() > 0) ++i;
      continue;
    }
    for (const auto& f : forwarded) {
      if (f.bench_suite && arg == f.word) return &f;
    }
    return nullptr;
  }
  return nullptr;
}

}  // namespace

const char* const trace_help =
    "Record a timeline of every task; FILE.json: Chrome trace for Perfetto; FILE.html: a page to open in a browser";

namespace {

/// A path for a file this program will write, its folder checked now, so that a long run does
/// not end with a file it cannot write. `what` names the file in the messages.
CLI::Validator output_file_path(const std::string& what) {
  return CLI::Validator{[what](std::string& path) -> std::string {
                          const auto slash = path.find_last_of('/');
                          const std::string folder =
                              slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
                          if (!std::filesystem::is_directory(folder))
                            return "folder '" + folder + "' of the " + what + " does not exist";
                          if (std::filesystem::is_directory(path)) return "'" + path + "' is a folder, not a file name";
                          if (::access(folder.c_str(), W_OK | X_OK) != 0) {
                            return "folder '" + folder + "' of the " + what + " is not writable";
                          }
                          return {};
                        },
                        "FILE"};
}

}  // namespace

const CLI::Validator& trace_path() {
  static const CLI::Validator validator = output_file_path("trace file");
  return validator;
}

const CLI::Validator& report_path() {
  static const CLI::Validator validator = output_file_path("report");
  return validator;
}

const CLI::Validator& whole_number() {
  // CLI11's own conversion error only repeats the flag.
  static const CLI::Validator validator{[](std::string& text) -> std::string {
                                          std::size_t used = 0;
                                          try {
                                            (void)std::stoll(text, &used);
                                          } catch (const std::exception&) {
                                            used = 0;
                                          }
                                          if (text.empty() || used != text.size())
                                            return "'" + text + "' is not a number";
                                          return {};
                                        },
                                        ""};  // the option's type (INT) is already in its help
  return validator;
}

int with_trace(const std::string& path, const std::function<int()>& body) {
  if (path.empty()) return body();
  trace::start();
  const int rc = body();
  trace::stop();
  if (path.ends_with(".html")) {
    trace::write_html_timeline_file(path);
    std::fprintf(stderr, "timeline written to %s (open it in a web browser)\n", path.c_str());
  } else {
    trace::write_chrome_json_file(path);
    std::fprintf(stderr, "trace written to %s (open it in https://ui.perfetto.dev or chrome://tracing)\n",
                 path.c_str());
  }
  return rc;
}

std::vector<std::string> add_forwarded_commands(CLI::App& app, std::span<const forwarded_command> forwarded) {
  std::vector<std::string> suites;
  for (const auto& f : forwarded) {
    if (f.bench_suite) {
      suites.emplace_back(f.word);
      continue;
    }
    std::string description = f.description;
    if (!installed(f)) description += fmt::format(" [not installed: {} is missing]", f.executable);
    app.add_subcommand(f.word, description)->prefix_command()->allow_extras();
  }
  return suites;
}

int run_command_line(CLI::App& app, std::string_view program, std::span<const command> commands,
                     std::span<const forwarded_command> forwarded, int argc, char** argv) {
  // CLI11 would report an unknown command word, or an unknown option before the command
  // (`trident --bogus`), as "a subcommand is required"; name the word instead. The words up to
  // the command are the program's own options (--help, --version), then the command.
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      if (app.get_option_no_throw(word.substr(0, word.find('='))) != nullptr) continue;
      std::fprintf(stderr, "%.*s: unknown option '%s' (see %.*s --help)\n", static_cast<int>(program.size()),
                   program.data(), word.c_str(), static_cast<int>(program.size()), program.data());
      return exit_code::usage;
    }
    if (const forwarded_command* f = forwarded_for(app, forwarded, argc, argv, i)) {
      return exec_forwarded(program, *f, argc, argv);
    }
    if (subcommand_named(app, word) == nullptr) {
      std::string names;
      const std::function<bool(const CLI::App*)> listed = [](const CLI::App* s) { return !s->get_group().empty(); };
      for (const CLI::App* sub : std::as_const(app).get_subcommands(listed)) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
      std::fprintf(stderr, "%.*s: unknown command '%s' (commands: %s; see %.*s --help)\n",
                   static_cast<int>(program.size()), program.data(), word.c_str(), names.c_str(),
                   static_cast<int>(program.size()), program.data());
      return exit_code::usage;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version go to stdout (exit 0); every parse error to stderr with the one usage
    // code, not CLI11's own numbers (105, 109...), which no other command uses.
    const int rc = app.exit(e);
    return rc == 0 ? exit_code::ok : exit_code::usage;
  }
  try {
    for (const auto& c : commands) {
      if (*c.cli) return c.run();
    }
  } catch (const usage_error& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    return exit_code::usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s: error: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    return exit_code::some_failed;
  }
  return exit_code::ok;
}

}  // namespace trident::cli
