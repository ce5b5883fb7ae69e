#!/usr/bin/env bash
# One entry point for a fresh Debian 12 clone: installs what is missing, builds, then runs.
#
#   tools/dev.sh tour          build what `trident tour` runs (release preset) and run it
#   tools/dev.sh test          build (release preset) and run the whole test suite, with every
#                              package a test needs installed (none is skipped for a missing one)
#   tools/dev.sh bench-peers   install the peers `trident bench` compares with (Python's aiohttp,
#                              uvloop, requests, psycopg2, Pillow, NumPy; nginx, wrk, curl)
#   tools/dev.sh test tsan     the same under another preset (tsan | asan | debug | clang | fuzz); arguments
#                              after the preset go to ctest (e.g. -L concurrency); `test fuzz` builds
#                              the libFuzzer targets alone and runs each briefly (docs/fuzzing.md)
#
# Packages are installed with apt-get only when absent (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev
          libgtest-dev libgmock-dev libbenchmark-dev libtbb-dev libcurl4-openssl-dev libcereal-dev python3
          # The event loop's io_uring backend (built without it, the loop uses epoll alone).
          liburing-dev
          # The C/C++ peers of `trident bench async`.
          libasio-dev libuv1-dev
          libvips-dev chromium postgresql libpq-dev openmpi-bin libopenmpi-dev
          # The media layer: FFmpeg's libraries, OpenSSL (model hashes), npm to obtain whisper.cpp
          # (tools/whisper_cache.sh), and the tools its tests make media with.
          libavformat-dev libavcodec-dev libswresample-dev libavutil-dev libssl-dev npm nodejs ffmpeg espeak-ng)

install_missing() {
  # The clang preset needs Debian's clang-16 (with libstdc++ 12, as g++ uses).
  [ "${preset:-}" = clang ] && packages+=(clang-16)
  # The fuzz preset: clang-16 with its compiler runtime (libFuzzer, the sanitizers' runtimes).
  [ "${preset:-}" = fuzz ] && packages+=(clang-16 libclang-rt-16-dev)
  local missing=()
  for p in "${packages[@]}"; do
    # Node.js and npm count as present when their commands are, whatever installed them (a
    # machine may carry a newer Node.js than Debian's, whose npm package would conflict with it).
    case "$p" in
      npm | nodejs) command -v "${p/nodejs/node}" >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  # apt-get's whole output goes to a log; the terminal gets what it is doing and a count, so a
  # step of several minutes is never silent, and a failure shows where to read the rest.
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/trident-apt.XXXXXX.log")
  echo "tools/dev.sh: installing ${#missing[@]} packages with apt-get, with what they need" \
       "(about 5 minutes on a fresh machine, more on a slow network): ${missing[*]}" >&2
  echo "tools/dev.sh: apt-get update (package lists)..." >&2
  if ! "${sudo[@]}" apt-get update -q >"$log" 2>&1; then
    apt_failed "apt-get update" "$log"
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o Dpkg::Progress-Fancy=0 \
         --no-install-recommends "${missing[@]}" 2>&1 | tee -a "$log" | apt_progress; then
    apt_failed "apt-get install" "$log"
  fi
  rm -f "$log"
  echo "tools/dev.sh: packages installed" >&2
}

# Condenses `apt-get install` output on stdin to a few lines on stderr: how many packages and
# how much to download, then a count of those unpacked and set up, every tenth of the way.
apt_progress() {
  awk '
    function note(text) { print "tools/dev.sh: apt-get: " text > "/dev/stderr"; fflush("/dev/stderr") }
    / newly installed, / {
      for (i = 1; i < NF; i++) if ($(i + 1) == "newly") total += $i
      for (i = 1; i < NF; i++) if ($(i + 1) == "upgraded,") total += $i
      note($0)
    }
    /^Need to get / { note($0 " (downloading...)") }
    /^Fetched / { note($0) }
    /^Setting up / {
      done++
      if (total > 0 && (int(done * 10 / total) > shown || done == total)) {
        shown = int(done * 10 / total)
        note(sprintf("%d of %d packages set up", done, total))
      }
    }
    /^(E|W): / { note($0) }
  '
}

# Reports a failed apt-get step with the end of its output and where the whole of it is kept.
apt_failed() {
  echo "tools/dev.sh: $1 failed; its last lines (the whole output is in $2):" >&2
  tail -n 20 "$2" >&2
  exit 1
}

# build PRESET [TARGET...]: configures and builds the preset, only TARGETs when given.
build() {
  local preset=$1
  shift
  cmake --preset "$preset" >/dev/null
  if [ $# -gt 0 ]; then
    cmake --build --preset "$preset" -j "$(nproc)" --target "$@"
  else
    cmake --build --preset "$preset" -j "$(nproc)"
  fi
}

action=${1:-tour}
preset=${2:-release}
shift $(( $# > 2 ? 2 : $# ))
case "$action" in
  tour)
    install_missing
    # Only what the tour runs: `trident` and the executables of its two heavy cells.
    build release trident_tour
    exec ./build/release/bin/trident tour
    ;;
  test)
    # The suite's own servers and tools: nginx for the TLS and bench-interruption tests, dpkg-dev and
    # lintian for the Debian package test, clang-format-16 for the layout check.
    packages+=(nginx-light dpkg-dev lintian clang-format-16)
    install_missing
    build "$preset"
    ctest --preset "$preset" "$@"
    ;;
  bench-peers)
    packages=(python3 python3-aiohttp python3-uvloop python3-requests python3-psycopg2 python3-pil python3-numpy
              nginx-light wrk curl)
    install_missing
    ;;
  *)
    echo "usage: tools/dev.sh tour | bench-peers | test [release|debug|tsan|asan|clang|fuzz] [ctest arguments]" >&2
    exit 2
    ;;
esac
