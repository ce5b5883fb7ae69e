#!/usr/bin/python3
"""The `async` workloads of `trident bench` in Python, on asyncio's default loop or on uvloop.

`trident bench async` runs this script as a subprocess (once per loop and round) and prints its
rows next to Trident's. Output: one JSON object per line, the format of `trident bench async
--json`, with impl "asyncio" or "uvloop"; lines starting with "note:" are remarks for the table.

  sleepers_100k      100,000 tasks (create_task), each `await asyncio.sleep(1)`, then every
                     task awaited in turn; value: wall time from the first create_task to the
                     last task done, minus 1 s (s).
  sleepers_1m        the same with 1,000,000 tasks.
  sleepers_1m_bytes  from the sleepers_1m runs: peak RSS (VmHWM, reset through
                     /proc/self/clear_refs after gc and malloc_trim) minus VmRSS before the run,
                     divided by 1,000,000 (bytes per sleeping task, the list of tasks included).
  gather_100k        asyncio.gather over 100,000 coroutines that return at once (us per task,
                     creating the coroutines included).
  ready_await        `await ready()` where `async def ready(): return 1`, 1,000,000 times in
                     one coroutine (C++: 10,000,000); ns per await.
  ready_await_done   `await fut` on a Future that is already done, 1,000,000 times; ns per
                     await.
  tcp_echo           50 connections on 127.0.0.1, each sending a 64-byte message and waiting
                     for it to come back, over and over, for ECHO_SECONDS (3 s; environment
                     TRIDENT_BENCH_ECHO_SECONDS, at most 10); round trips per second. The echo
                     server runs in a second process on the same loop kind. Both sides use
                     asyncio Protocols, the fastest way Python has to move bytes.

Each invocation runs every selected case once untimed (sleepers_1m: with 100,000 tasks, so the
warm-up does not hold a second million tasks' worth of memory), then `--repeat` timed runs, and
prints the median.

Usage: asyncio_bench.py [--loop asyncio|uvloop] [--case NAME]... [--repeat N]
       asyncio_bench.py --serve-echo [--loop asyncio|uvloop]   (the echo server: prints its port)
"""

import argparse
import asyncio
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import time

try:
    _libc = ctypes.CDLL("libc.so.6")
except OSError:
    _libc = None


def emit(impl, case, value, unit):
    print(json.dumps({"suite": "async", "case": case, "impl": impl, "value": value, "unit": unit},
                     separators=(",", ":")))
    sys.stdout.flush()


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Returns VmRSS in bytes after freeing what can be freed and resetting VmHWM to it."""
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
    return status_kb("VmRSS") * 1024


# -- workloads: each a coroutine run by asyncio.run (a fresh loop per run) ---------------------

async def sleeper():
    await asyncio.sleep(1)


async def sleepers(n):
    start = time.perf_counter()
    tasks = [asyncio.create_task(sleeper()) for _ in range(n)]
    for t in tasks:
        await t
    return time.perf_counter() - start - 1.0


async def returns_at_once(i):
    return i


async def gather_n(n):
    start = time.perf_counter()
    values = await asyncio.gather(*[returns_at_once(i) for i in range(n)])
    elapsed = time.perf_counter() - start
    assert len(values) == n and values[-1] == n - 1
    return elapsed / n * 1e6


async def ready():
    return 1


READY_N = 1_000_000


async def ready_await():
    total = 0
    start = time.perf_counter()
    for _ in range(READY_N):
        total += await ready()
    elapsed = time.perf_counter() - start
    assert total == READY_N
    return elapsed / READY_N * 1e9


async def ready_await_done():
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(1)
    total = 0
    start = time.perf_counter()
    for _ in range(READY_N):
        total += await fut
    elapsed = time.perf_counter() - start
    assert total == READY_N
    return elapsed / READY_N * 1e9


# -- tcp_echo --------------------------------------------------------------------------------

ECHO_CONNECTIONS = 50
ECHO_MESSAGE = b"x" * 64


def echo_seconds():
    return min(10.0, float(os.environ.get("TRIDENT_BENCH_ECHO_SECONDS", "3")))


class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve_echo():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServerProtocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Until the parent closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


class EchoClientProtocol(asyncio.Protocol):
    def __init__(self, end, counts):
        self.end, self.counts, self.pending = end, counts, 0

    def connection_made(self, transport):
        self.transport = transport
        self.transport.write(ECHO_MESSAGE)

    def data_received(self, data):
        self.pending += len(data)
        while self.pending >= len(ECHO_MESSAGE):
            self.pending -= len(ECHO_MESSAGE)
            self.counts[0] += 1
            if time.perf_counter() < self.end:
                self.transport.write(ECHO_MESSAGE)
            else:
                self.transport.close()
                return

    def connection_lost(self, exc):
        self.counts[1] += 1
        if self.counts[1] == ECHO_CONNECTIONS:
            self.done.set_result(None)


async def echo_client(port, seconds):
    loop = asyncio.get_running_loop()
    counts = [0, 0]  # round trips, connections closed
    done = loop.create_future()
    start = time.perf_counter()
    end = start + seconds
    for _ in range(ECHO_CONNECTIONS):
        def make():
            p = EchoClientProtocol(end, counts)
            p.done = done
            return p
        await loop.create_connection(make, "127.0.0.1", port)
    await done
    return counts[0] / (time.perf_counter() - start)


def tcp_echo_case(loop, repeat, _want):
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-echo", "--loop", loop],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        run(echo_client(port, 0.5), loop)  # warm-up
        rates = [run(echo_client(port, echo_seconds()), loop) for _ in range(repeat)]
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return [("tcp_echo", statistics.median(rates), "rt/s")]


# -- cases -----------------------------------------------------------------------------------

def run(coro, loop):
    if loop == "uvloop":
        import uvloop
        return uvloop.run(coro) if hasattr(uvloop, "run") else _run_uvloop_policy(coro)
    return asyncio.run(coro)


def _run_uvloop_policy(coro):
    import uvloop
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def sleepers_1m_case(loop, repeat, want):
    run(sleepers(100_000), loop)  # warm-up, smaller (see the docstring)
    times, per_task = [], []
    for _ in range(repeat):
        base = reset_peak_rss()
        times.append(run(sleepers(1_000_000), loop))
        per_task.append((status_kb("VmHWM") * 1024 - base) / 1_000_000)
    rows = []
    if "sleepers_1m" in want:
        rows.append(("sleepers_1m", statistics.median(times), "s"))
    if "sleepers_1m_bytes" in want:
        rows.append(("sleepers_1m_bytes", statistics.median(per_task), "B/task"))
    return rows


def simple_case(name, make, unit):
    def case(loop, repeat, _want):
        run(make(), loop)  # warm-up
        return [(name, statistics.median(run(make(), loop) for _ in range(repeat)), unit)]
    return case


CASES = {
    "sleepers_100k": simple_case("sleepers_100k", lambda: sleepers(100_000), "s"),
    "sleepers_1m": sleepers_1m_case,
    "sleepers_1m_bytes": sleepers_1m_case,
    "gather_100k": simple_case("gather_100k", lambda: gather_n(100_000), "us/task"),
    "ready_await": simple_case("ready_await", ready_await, "ns"),
    "ready_await_done": simple_case("ready_await_done", ready_await_done, "ns"),
    "tcp_echo": tcp_echo_case,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        run(serve_echo(), args.loop)
        return 0
    unknown = set(args.case) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; valid: {sorted(CASES)}")
    if args.loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError as e:
            print(f"note: uvloop is not importable ({e}): no uvloop rows (Debian: apt-get install python3-uvloop)")
            return 0
    want = args.case or list(CASES)
    done = set()
    for name, case in CASES.items():
        if name not in want or case in done:
            continue
        done.add(case)
        for case_name, value, unit in case(args.loop, args.repeat, want):
            emit(args.loop, case_name, value, unit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
