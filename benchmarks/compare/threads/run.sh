#!/usr/bin/env bash
# Runs the `threads` workloads on Trident (and its in-process peers) and on Python's
# ThreadPoolExecutor, then prints them side by side. Builds nothing.
#
#   benchmarks/compare/threads/run.sh PATH/TO/trident [--repeat N]
#
# The Python sizes are scaled down (see threadpool_executor.py); every figure is a rate or a
# time for the C++ amount of work, so the ratio column compares like with like (fib30 excepted:
# Python's row uses a cutoff, see the script).
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1" ]]; then
  echo "usage: $0 PATH/TO/trident [--repeat N]" >&2
  exit 2
fi
trident_bin=$1
shift
repeat=3
if [[ $# -ge 2 && $1 == --repeat ]]; then repeat=$2; fi

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$trident_bin" bench threads --json --repeat "$repeat" > "$tmp/trident.jsonl"
/usr/bin/python3 "$here/threadpool_executor.py" --repeat "$repeat" > "$tmp/python.jsonl"

/usr/bin/python3 - "$tmp/trident.jsonl" "$tmp/python.jsonl" <<'PY'
import json, sys
rows = {}
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                rows[(r["case"], r["impl"])] = r
cases = []
for case, _ in rows:
    if case not in cases:
        cases.append(case)
print(f"{'case':<14} {'unit':<8} {'trident':>12} {'python':>12} {'speed-up':>10}")
for case in cases:
    t = rows.get((case, "trident"))
    p = rows.get((case, "python"))
    unit = (t or p)["unit"]
    fmt = lambda r: f"{r['value']:.4g}" if r else "-"
    ratio = "-"
    if t and p and t["value"] > 0 and p["value"] > 0:
        # Speed-up of Trident over Python: rates divide one way, times the other.
        ratio = t["value"] / p["value"] if unit.endswith("/s") else p["value"] / t["value"]
        ratio = f"{ratio:.2f}x" + ("*" if case == "fib30" else "")
    print(f"{case:<14} {unit:<8} {fmt(t):>12} {fmt(p):>12} {ratio:>10}")
print("speed-up: how many times faster Trident is than Python (rates: trident/python; times: python/trident)")
print("* not the same workload: python fib30 is fib(20) with tasks for the top 4 levels only (a task per")
print("  call deadlocks ThreadPoolExecutor), its time scaled to fib(30)'s call count; Trident's fib30 makes")
print("  a task of every call. Compare it as an order of magnitude, not as a ratio.")
PY
