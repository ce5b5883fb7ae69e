#!/usr/bin/env bash
# clang-tidy-16 with the repository's .clang-tidy over the library's sources (src/), using the
# compile flags of a configured build (default build/release; configure it first with
# `cmake --preset release`). Exits non-zero on any finding.
#   tools/tidy.sh [BUILD_DIR] [-j JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
jobs=${3:-$(nproc)}
if ! command -v run-clang-tidy-16 >/dev/null; then
  echo "tools/tidy.sh: run-clang-tidy-16 not found (Debian: apt-get install clang-tidy-16)" >&2
  exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tools/tidy.sh: $build/compile_commands.json not found; configure that build first" >&2
  exit 2
fi
exec run-clang-tidy-16 -quiet -j "$jobs" -p "$build" "$PWD/src/"
