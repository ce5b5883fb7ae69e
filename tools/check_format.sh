#!/usr/bin/env bash
# Checks that C++ files are laid out as .clang-format says (clang-format-16, the version the
# clang build uses). With no argument it checks every C++ file git tracks; with arguments, those
# files. Exits 1 naming each file that differs (fix: clang-format-16 -i FILE), 2 when
# clang-format-16 is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v clang-format-16 >/dev/null; then
  echo "tools/check_format.sh: clang-format-16 not found (Debian: apt-get install clang-format-16)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  cd "$root"
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
fi
# One clang-format run for all files; its diagnostics name each file that differs.
out=$(clang-format-16 --style="file:$root/.clang-format" --dry-run --Werror "${files[@]}" 2>&1) && exit 0
differing=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u || true)
if [ -z "$differing" ]; then
  echo "$out" >&2  # not a layout difference: a missing file, a bad .clang-format
  exit 2
fi
while read -r f; do echo "not formatted: $f (clang-format-16 -i $f)"; done <<<"$differing"
exit 1
