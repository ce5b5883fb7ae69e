#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (docs/fuzzing.md) for N minutes each, one after the other,
# after building them with the fuzz preset (clang-16, ASan + UBSan).
#
#   tools/fuzz.sh N [TARGET...]    N minutes per target (default 5); TARGET: e.g. proc_frame
#
# Each target starts from its seed corpus (fuzz/corpus/<target>/) and keeps what it finds in
# build/fuzz/fuzz/work/<target>/ (not in the repository); a crash's input is written to
# build/fuzz/fuzz/crashes/. At the end a line per target gives its executions, coverage (cov:)
# and features (ft:), from libFuzzer's last status line.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
shift $(( $# > 0 ? 1 : 0 ))
case "$minutes" in
  '' | *[!0-9]*) echo "usage: tools/fuzz.sh [MINUTES] [TARGET...]" >&2; exit 2 ;;
esac
# TRIDENT_FUZZ_SKIP_BUILD=1: run what build/fuzz holds (while another shell builds the rest).
if [ -z "${TRIDENT_FUZZ_SKIP_BUILD:-}" ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
fi
build=build/fuzz
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzz.cpp; do
    name=$(basename "$f" _fuzz.cpp)
    [ -x "$build/bin/fuzz_$name" ] && targets+=("$name")
  done
fi
mkdir -p "$build/fuzz/crashes" "$build/fuzz/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
summary=()
status=0
for name in "${targets[@]}"; do
  work="$build/fuzz/work/$name"
  log="$build/fuzz/logs/$name.log"
  mkdir -p "$work"
  echo "== fuzz_$name for $minutes min (log: $log)"
  if "$build/bin/fuzz_$name" -max_total_time=$((minutes * 60)) -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz/crashes/$name-" "$work" "fuzz/corpus/$name" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (crash input in $build/fuzz/crashes/)"
    status=1
  fi
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  summary+=("$(printf '%-18s %-4s executions %-10s cov %-6s ft %-6s %s' "$name" "" "${execs:-?}" "${cov:-?}" \
                "${ft:-?}" "$result")")
done
echo "== $minutes min per target"
printf '%s\n' "${summary[@]}"
exit $status
