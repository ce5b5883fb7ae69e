#!/usr/bin/python3
"""The `threads` workloads of `trident bench` in Python, with concurrent.futures.ThreadPoolExecutor.

`trident bench threads` runs this script once per round (`--case C --repeat 1`) as its `python`
implementation, interleaved with Trident's and the other runtimes' runs. It prints one JSON
object per line, the same format as `trident bench threads --json`, with impl "python".
Sizes are scaled down where Python cannot run the C++ size in reasonable time; every value
is a rate (tasks/s) or a time for the same amount of work as the C++ case, so rows compare
directly:

  spawn_empty   100,000 empty tasks (C++: 1,000,000), reported as tasks/s.
  future_int    200,000 tasks returning an int through a Future (same as C++), tasks/s.
  fib30         fib(30) cannot be run with a task per call (about 2.7 million tasks, and every
                waiting parent blocks a pool thread: with both children as tasks and no cutoff
                the pool deadlocks as soon as every thread waits). Instead: fib(20) with tasks
                only at the top levels (cutoff: n <= 20 - 4 is computed inline), and the time is
                scaled by fib-call count to fib(30)'s, i.e. seconds per fib(30)-equivalent. This is
                NOT the C++ workload; the row is there for orders of magnitude.
  parallel_sum  sum of sqrt over 10,000,000 doubles (C++: 100,000,000) in chunks on the pool;
                the time is scaled x10 to the C++ size.

Usage: threadpool_executor.py [--case NAME]... [--repeat N]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait

WORKERS = os.cpu_count() or 1


def emit(case, value, unit):
    print(json.dumps({"suite": "threads", "case": case, "impl": "python", "value": value, "unit": unit}, separators=(",", ":")))
    sys.stdout.flush()


def spawn_empty(pool):
    n = 100_000
    start = time.perf_counter()
    futures = [pool.submit(lambda: None) for _ in range(n)]
    wait(futures)
    return n / (time.perf_counter() - start)


def future_int(pool):
    n = 200_000
    start = time.perf_counter()
    futures = [pool.submit(lambda i=i: i & 1023) for i in range(n)]
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    assert total == sum(i & 1023 for i in range(n))
    return n / elapsed


def fib_seq(n):
    return n if n < 2 else fib_seq(n - 1) + fib_seq(n - 2)


def calls(n):
    """Number of fib() calls to compute fib(n) recursively."""
    a, b = 1, 1  # calls(0), calls(1)
    for _ in range(n - 1):
        a, b = b, a + b + 1
    return b if n >= 1 else a


FIB_N = 20
FIB_CUTOFF = FIB_N - 4  # tasks for the top 4 levels only; a deeper tree of blocking waits deadlocks


def fib_task(pool, n):
    if n <= FIB_CUTOFF:
        return fib_seq(n)
    a = pool.submit(fib_task, pool, n - 1)
    b = pool.submit(fib_task, pool, n - 2)
    return a.result() + b.result()


def fib30(_pool):
    # The top 4 levels make up to 2^4 - 1 = 15 waiting tasks at once: the pool needs that many
    # threads or it deadlocks, so this case gets its own, larger pool.
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.perf_counter()
        v = pool.submit(fib_task, pool, FIB_N).result()
        elapsed = time.perf_counter() - start
    assert v == 6765
    return elapsed * calls(30) / calls(FIB_N)


SUM_N = 10_000_000
_data = None


def sum_chunk(begin, end):
    s = 0.0
    sqrt = math.sqrt
    for x in _data[begin:end]:
        s += sqrt(x)
    return s


def parallel_sum(pool):
    chunk = (SUM_N + WORKERS * 4 - 1) // (WORKERS * 4)
    start = time.perf_counter()
    futures = [pool.submit(sum_chunk, b, min(SUM_N, b + chunk)) for b in range(0, SUM_N, chunk)]
    total = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    assert total > 0
    return elapsed * (100_000_000 / SUM_N)


CASES = [
    ("spawn_empty", spawn_empty, "tasks/s"),
    ("future_int", future_int, "tasks/s"),
    ("fib30", fib30, "s"),
    ("parallel_sum", parallel_sum, "s"),
]


def main():
    global _data
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", action="append", default=[])
    args = parser.parse_args()
    unknown = set(args.case) - {c[0] for c in CASES}
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; valid: {[c[0] for c in CASES]}")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for name, fn, unit in CASES:
            if args.case and name not in args.case:
                continue
            if name == "parallel_sum":
                _data = [float(i % 1000) + 0.5 for i in range(SUM_N)]
            fn(pool)  # warm-up
            emit(name, statistics.median(fn(pool) for _ in range(args.repeat)), unit)
            _data = None


if __name__ == "__main__":
    main()
