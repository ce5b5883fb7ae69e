#!/usr/bin/env bash
# tools/check_docs.py fails on what it must catch: a doc naming a file that is not in the tree,
# a comment doing the same, and a doc giving `trident fetch` a flag its --help does not list;
# and passes once they are fixed.
set -euo pipefail
check=$(cd "$(dirname "$0")/../.." && pwd)/tools/check_docs.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; cat "$work/out" >&2; exit 1; }

cd "$work"
git init -q .
mkdir -p docs src/core
echo 'See `src/core/gone.cpp` and `docs/here.md`; run `trident fetch --jobs 4 --bogus-flag`.' >docs/here.md
printf '// The format is in docs/missing.md.\nint x;\n' >src/core/a.cpp
cat >trident <<'FAKE'
#!/bin/sh
echo "Usage: trident fetch [OPTIONS]"
echo "  -j,--jobs INT   Downloads at once"
FAKE
chmod +x trident
git add -A

python3 "$check" paths --root "$work" >"$work/out" 2>&1 && fail "paths passed with missing files"
grep -q "docs/here.md:1: names src/core/gone.cpp" "$work/out" || fail "the doc's missing path is not named"
grep -q "src/core/a.cpp:1: the comment names docs/missing.md" "$work/out" || fail "the comment's missing path is not named"
grep -q "docs/here.md" <(grep "here.md, which" "$work/out") && fail "an existing path is reported"
python3 "$check" flags --root "$work" --trident "$work/trident" >"$work/out" 2>&1 && fail "flags passed with --bogus-flag"
grep -q "docs/here.md:1: \`trident fetch\` has no flag --bogus-flag" "$work/out" || fail "the unknown flag is not named"
grep -q -- "no flag --jobs" "$work/out" && fail "a flag the help lists is reported"

echo 'See `docs/here.md`; run `trident fetch --jobs 4`.' >docs/here.md
printf '// The format is in docs/here.md.\nint x;\n' >src/core/a.cpp
git add -A
python3 "$check" paths --root "$work" >"$work/out" 2>&1 || fail "paths failed on a fixed tree"
python3 "$check" flags --root "$work" --trident "$work/trident" >"$work/out" 2>&1 || fail "flags failed on a fixed tree"
echo "check_docs: catches missing paths and unknown flags, passes when fixed"
