#!/usr/bin/env bash
# tools/whisper_cache.sh when a step fails, against a stand-in npm that cannot fetch (no network
# needed): it shows the step's last lines, names the log, and the log stays in the cache folder
# after the build folder is gone.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; echo "--- stderr:" >&2; cat "$work/err" >&2; exit 1; }

for tool in node cmake python3 flock; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: '$tool' is not installed"; exit 0; }
done
mkdir "$work/bin"
cat >"$work/bin/npm" <<'FAKE'
#!/bin/sh
echo "npm error code E404"
echo "npm error 404 Not Found - GET https://registry.npmjs.org/nodejs-whisper - stand-in registry" >&2
exit 1
FAKE
chmod +x "$work/bin/npm"

status=0
PATH="$work/bin:$PATH" TRIDENT_CACHE_DIR="$work/cache" "$source_dir/tools/whisper_cache.sh" cpu >"$work/out" 2>"$work/err" \
  || status=$?
[ "$status" -ne 0 ] || fail "a failed npm pack did not fail the script"
grep -q "404 Not Found" "$work/err" || fail "the failed step's last lines are not shown"
log=$(sed -n 's/.*failed; the whole log is \(.*\)$/\1/p' "$work/err")
[ -n "$log" ] || fail "the failure does not name its log"
case "$log" in "$work/cache/"*) ;; *) fail "the log $log is not in the cache folder" ;; esac
[ -f "$log" ] || fail "the log $log was not kept"
grep -q "404 Not Found" "$log" || fail "the log does not hold the step's output"
ls -d "$work/cache"/.whisper-build.* >/dev/null 2>&1 && fail "the build folder is left behind"
[ -s "$work/out" ] && fail "a failure printed a prefix on stdout"
echo "passed"
