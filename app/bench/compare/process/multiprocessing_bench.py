#!/usr/bin/python3
"""The `process` workloads of `trident bench` in Python: multiprocessing and concurrent.futures.

`trident bench process` runs this script as a subprocess and prints its rows next to Trident's.
Output: one JSON object per line, the format of `trident bench process --json`, impl "python".
Every pool has 2 worker processes and uses the platform's default start method.

  map_100k     Pool.map(trivial, range(100000), chunksize=1) on a started pool; tasks/s.
  map_100k_default
               the same with Pool.map's own chunksize (4 chunks per worker); tasks/s.
  submit_20k   ProcessPoolExecutor: 20,000 submit() of a trivial function, then every
               result; tasks/s.
  roundtrip    ProcessPoolExecutor: submit(trivial).result(), one at a time, 2,000 times;
               us per task.
  payload_1mb  Pool.map(len, 200 bytes objects of 1 MiB, chunksize=1); MB/s of arguments.
  payload_1mb_shared
               the same 200 MiB in 200 multiprocessing.shared_memory blocks made and written
               beforehand,
               Pool.map over their names; each task attaches to its block and takes its size;
               MB/s of arguments.
  queue_small  a producer Process puts 200,000 small ints on a multiprocessing.Queue, the parent
               gets them; from Process.start() to the last get; msgs/s.
  queue_64k    the same with 2,000 bytes messages of 64 KiB; MB/s.
  pool_start   Pool(2) created and its first apply() returned; ms.

Each invocation runs every selected case once untimed, then --repeat timed runs, and prints
the median.

Usage: multiprocessing_bench.py [--case NAME]... [--repeat N]
"""

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from multiprocessing import resource_tracker, shared_memory
from concurrent.futures import ProcessPoolExecutor


def emit(case, value, unit):
    print(json.dumps({"suite": "process", "case": case, "impl": "python", "value": value, "unit": unit},
                     separators=(",", ":")))
    sys.stdout.flush()


def trivial(x):
    return x


def produce(q, count, size):
    payload = b"x" * size if size else None
    for i in range(count):
        q.put(payload if size else i)
    q.put(None)


def map_100k(pool, _ex):
    start = time.perf_counter()
    out = pool.map(trivial, range(100_000), chunksize=1)
    s = time.perf_counter() - start
    assert len(out) == 100_000
    return 100_000 / s


def map_100k_default(pool, _ex):
    start = time.perf_counter()
    out = pool.map(trivial, range(100_000))
    s = time.perf_counter() - start
    assert len(out) == 100_000 and out[-1] == 99_999
    return 100_000 / s


def submit_20k(_pool, ex):
    start = time.perf_counter()
    fs = [ex.submit(trivial, i) for i in range(20_000)]
    for f in fs:
        f.result()
    return 20_000 / (time.perf_counter() - start)


def roundtrip(_pool, ex):
    start = time.perf_counter()
    for i in range(2_000):
        ex.submit(trivial, i).result()
    return (time.perf_counter() - start) / 2_000 * 1e6


def payload_1mb(pool, _ex):
    items = [bytes(1 << 20) for _ in range(200)]
    start = time.perf_counter()
    out = pool.map(len, items, chunksize=1)
    s = time.perf_counter() - start
    assert sum(out) == 200 << 20
    return 200 * (1 << 20) / 1e6 / s


def shared_length(name):
    # Attach by name, as a worker handed a SharedMemory does; Python 3.11 registers every attach
    # with the resource tracker, which would then warn about (and unlink) the parent's blocks.
    block = shared_memory.SharedMemory(name=name)
    resource_tracker.unregister(block._name, "shared_memory")
    n = block.size
    block.close()
    return n


def payload_1mb_shared(pool, _ex):
    blocks = [shared_memory.SharedMemory(create=True, size=1 << 20) for _ in range(200)]
    try:
        for b in blocks:
            b.buf[:] = b"\x01" * (1 << 20)
        names = [b.name for b in blocks]
        start = time.perf_counter()
        out = pool.map(shared_length, names, chunksize=1)
        s = time.perf_counter() - start
        assert sum(out) == 200 << 20
        return 200 * (1 << 20) / 1e6 / s
    finally:
        for b in blocks:
            b.close()
            b.unlink()


def queue_run(count, size):
    q = multiprocessing.Queue(maxsize=64)
    p = multiprocessing.Process(target=produce, args=(q, count, size))
    start = time.perf_counter()
    p.start()
    n = 0
    while q.get() is not None:
        n += 1
    s = time.perf_counter() - start
    p.join()
    assert n == count
    return s


def queue_small(_pool, _ex):
    return 200_000 / queue_run(200_000, 0)


def queue_64k(_pool, _ex):
    return 2_000 * 65536 / 1e6 / queue_run(2_000, 65536)


def pool_start(_pool, _ex):
    start = time.perf_counter()
    p = multiprocessing.Pool(2)
    p.apply(trivial, (1,))
    s = time.perf_counter() - start
    p.close()
    p.join()
    return s * 1e3


CASES = {
    "map_100k": (map_100k, "tasks/s"),
    "map_100k_default": (map_100k_default, "tasks/s"),
    "submit_20k": (submit_20k, "tasks/s"),
    "roundtrip": (roundtrip, "us/task"),
    "payload_1mb": (payload_1mb, "MB/s"),
    "payload_1mb_shared": (payload_1mb_shared, "MB/s"),
    "queue_small": (queue_small, "msgs/s"),
    "queue_64k": (queue_64k, "MB/s"),
    "pool_start": (pool_start, "ms"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = args.case or list(CASES)
    with multiprocessing.Pool(2) as pool, ProcessPoolExecutor(2) as ex:
        pool.apply(trivial, (0,))
        ex.submit(trivial, 0).result()
        for name in names:
            fn, unit = CASES[name]
            fn(pool, ex)  # warm-up
            emit(name, statistics.median(fn(pool, ex) for _ in range(args.repeat)), unit)


if __name__ == "__main__":
    main()
