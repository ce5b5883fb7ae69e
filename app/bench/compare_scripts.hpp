#pragma once
/// @file
/// Where `trident bench` finds the peers' side of its comparisons (the Python scripts and the
/// nginx configuration of app/bench/compare/) and the Python that runs them.
///
/// The files live in `share/trident/compare` beside the program's `bin/` folder: the install
/// puts them there (`<prefix>/share/trident/compare`), and the build stages a copy in the build
/// tree's own `share/trident/compare`, so an installed and a built binary find them the same way
/// and no path of the source tree is compiled in.

#include <filesystem>
#include <string>

namespace trident::bench {

/// The compare folder: $TRIDENT_BENCH_COMPARE_DIR when set, else `share/trident/compare`
/// relative to the folder of the running executable's folder (read from /proc/self/exe).
std::filesystem::path compare_dir();

/// A file of the compare folder, e.g. compare_script("async/asyncio_bench.py").
std::string compare_script(const std::string& relative);

/// The Python the comparison scripts run with: $TRIDENT_BENCH_PYTHON, else /usr/bin/python3
/// (Debian's, where python3-* packages are), else python3 from PATH.
std::string python_interpreter();

/// `s` quoted for the shell (single quotes).
std::string shell_quote(const std::string& s);

}  // namespace trident::bench
