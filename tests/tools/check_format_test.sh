#!/usr/bin/env bash
# tools/check_format.sh fails on a file laid out against .clang-format, naming it, and passes on
# the same file once clang-format-16 has laid it out.
set -euo pipefail
check=$(cd "$(dirname "$0")/../.." && pwd)/tools/check_format.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; cat "$work/out" >&2; exit 1; }

printf 'int   add(int a,int b){return a+b;}\n' >"$work/bad.cpp"
status=0
"$check" "$work/bad.cpp" >"$work/out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "expected exit 1 for a misformatted file, got $status"
grep -q "not formatted: $work/bad.cpp" "$work/out" || fail "the misformatted file is not named"

root=$(cd "$(dirname "$0")/../.." && pwd)
clang-format-16 --style="file:$root/.clang-format" -i "$work/bad.cpp"
"$check" "$work/bad.cpp" >"$work/out" 2>&1 || fail "failed on the file clang-format laid out"
echo "check_format: names a misformatted file, passes once it is formatted"
