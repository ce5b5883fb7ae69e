#!/usr/bin/python3
"""The lesson's "choosing the right approach" scenarios in Python, with the lesson's own tools.

`trident bench scenarios` sets each scenario up once (the loopback server, the cached images, the
private PostgreSQL server), writes what a peer needs to an inputs file (JSON), and runs this
script once per model and round, beside Trident's models, so both see the same inputs and the
same machine load.

  web     200 URLs: requests (sequential, threads_10, threads_200 with ThreadPoolExecutor),
          multiprocessing.Pool (processes_N), aiohttp with one ClientSession (async_50, async_200).
  images  50 photos with Pillow: open -> resize to half (LANCZOS) -> UnsharpMask -> JPEG q85 in
          memory; sequential, threads_N, processes_N (multiprocessing.Pool), async_to_thread.
          Whole stacks differ (Pillow against libvips): the ratio compares what each user runs.
  db      10 queries with psycopg2: sequential, threads_10 (a connection each), processes_N,
          async_to_thread (asyncio.to_thread around blocking psycopg2).
  mixed   50 datasets: fetch with aiohttp, analyse in a ProcessPoolExecutor; sequential,
          fetch_then_analyse, hybrid_pipelined (each dataset analysed as it arrives), threads_N.

Output: one JSON line {"suite":"scenarios","case":SCENARIO,"impl":"python_MODEL","value":WALL_S,
"unit":"s","cpu_s":…,"peak_bytes":…,"items":…,"failed":…}. A model that does not exist here exits
with status 3 and a `note:` line.

Usage: lesson_scenarios.py --inputs FILE --scenario NAME --model MODEL [--warm-up]
(`--case` and `--repeat`, which the suites' runner passes to every script, are accepted; one run.)
"""

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import resource
import sys
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

INPUTS = {}


# ---------------------------------------------------------------------------------------------
# Measuring: wall, CPU of this process and its ended children, peak resident memory of the tree.

def tree_resident_bytes():
    total = 0
    pending = [os.getpid()]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as children:
                    pending.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(body):
    peak = [tree_resident_bytes()]
    done = threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], tree_resident_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    try:
        result = body()
    finally:
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds() - cpu0
        done.set()
        sampler.join()
    return result, wall, cpu, peak[0]


# ---------------------------------------------------------------------------------------------
# web

def fetch_blocking(url, session=None):
    import requests
    try:
        response = (session or requests).get(url, timeout=60)
        return response.status_code < 400
    except requests.RequestException:
        return False


_thread_sessions = threading.local()


def fetch_in_thread(url):
    import requests
    if not hasattr(_thread_sessions, "session"):
        _thread_sessions.session = requests.Session()
    return fetch_blocking(url, _thread_sessions.session)


async def fetch_async(session, url):
    import aiohttp
    try:
        async with session.get(url) as response:
            await response.read()
            return response.status < 400
    except aiohttp.ClientError:
        return False


async def fetch_all_async(urls, limit):
    import aiohttp
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        semaphore = asyncio.Semaphore(limit)

        async def one(url):
            async with semaphore:
                return await fetch_async(session, url)

        return await asyncio.gather(*(one(u) for u in urls))


def web(model):
    urls = INPUTS["urls"]
    cores = os.cpu_count() or 1
    if model == "sequential":
        import requests
        with requests.Session() as session:
            oks = [fetch_blocking(u, session) for u in urls]
    elif model.startswith("threads_"):
        with ThreadPoolExecutor(max_workers=int(model.split("_")[1])) as pool:
            oks = list(pool.map(fetch_in_thread, urls))
    elif model.startswith("processes_"):
        with multiprocessing.Pool(int(model.split("_")[1]) or cores) as pool:
            oks = pool.map(fetch_in_thread, urls)
    elif model.startswith("async_"):
        oks = asyncio.run(fetch_all_async(urls, int(model.split("_")[1])))
    else:
        return None
    return len(oks), sum(1 for ok in oks if not ok)


# ---------------------------------------------------------------------------------------------
# images

def process_image(path):
    from PIL import Image, ImageFilter
    with Image.open(path) as image:
        image = image.convert("RGB")
        half = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
        sharp = half.filter(ImageFilter.UnsharpMask(radius=1, percent=100, threshold=0))
        out = io.BytesIO()
        sharp.save(out, "JPEG", quality=85)
        return sharp.width, sharp.height, zlib.crc32(out.getvalue())


def images(model):
    paths = INPUTS["paths"]
    cores = os.cpu_count() or 1
    if model == "sequential":
        results = [process_image(p) for p in paths]
    elif model.startswith("threads_"):
        with ThreadPoolExecutor(max_workers=int(model.split("_")[1])) as pool:
            results = list(pool.map(process_image, paths))
    elif model.startswith("processes_"):
        with multiprocessing.Pool(int(model.split("_")[1]) or cores) as pool:
            results = pool.map(process_image, paths)
    elif model == "async_to_thread":
        async def main():
            return await asyncio.gather(*(asyncio.to_thread(process_image, p) for p in paths))
        results = asyncio.run(main())
    else:
        return None
    return len(results), 0


# ---------------------------------------------------------------------------------------------
# db

_thread_connections = threading.local()


def run_query(index):
    import psycopg2
    if not hasattr(_thread_connections, "connection"):
        _thread_connections.connection = psycopg2.connect(INPUTS["dsn"])
    with _thread_connections.connection.cursor() as cursor:
        cursor.execute(INPUTS["queries"][index])
        return len(cursor.fetchall())


def init_worker(inputs):
    INPUTS.update(inputs)


def db(model):
    count = len(INPUTS["queries"])
    cores = os.cpu_count() or 1
    if model == "sequential":
        rows = [run_query(i) for i in range(count)]
    elif model.startswith("threads_"):
        with ThreadPoolExecutor(max_workers=int(model.split("_")[1])) as pool:
            rows = list(pool.map(run_query, range(count)))
    elif model.startswith("processes_"):
        with multiprocessing.Pool(int(model.split("_")[1]) or cores, initializer=init_worker, initargs=(INPUTS,)) as pool:
            rows = pool.map(run_query, range(count))
    elif model == "async_to_thread":
        async def main():
            return await asyncio.gather(*(asyncio.to_thread(run_query, i) for i in range(count)))
        rows = asyncio.run(main())
    else:
        return None
    return len(rows), 0


# ---------------------------------------------------------------------------------------------
# mixed: the same computation as Trident's (app/scenarios/dataset_analysis.cpp): parse the `t,value`
# CSV, order statistics, a least-squares trend, and the autocorrelation at every lag up to 4096,
# from which the dominant cycle is read. NumPy does the arithmetic, as a Python user would.

MAX_LAG = 4096


def analyse(text):
    import numpy as np
    lines = text.split("\n")
    if lines[0].rstrip("\r") != "t,value":
        raise ValueError("dataset: line 1 must be the header 't,value'")
    data = np.array([[float(f) for f in line.split(",")] for line in lines[1:] if line.strip()])
    t, x = data[:, 0], data[:, 1]
    n = len(x)
    mean = x.mean()
    centred = x - mean
    squares = float(centred @ centred)
    ordered = np.sort(x)
    trend = float(((t - t.mean()) @ centred) / ((t - t.mean()) @ (t - t.mean())) * 86400.0)
    max_lag = min(MAX_LAG, n // 2)
    r = np.array([0.0] + [float(centred[:n - lag] @ centred[lag:]) / squares for lag in range(1, max_lag + 1)])
    lag = 1
    while lag <= max_lag and r[lag] >= 0:
        lag += 1
    period, strength = 0, 0.0
    for k in range(lag, max_lag + 1):
        if r[k] > strength:
            period, strength = k, r[k]
    return {"rows": n, "mean": float(mean), "stddev": float(np.sqrt(squares / (n - 1))),
            "median": float(np.quantile(ordered, 0.5)), "trend_per_day": trend, "period_rows": period}


def fetch_text_blocking(url):
    import requests
    if not hasattr(_thread_sessions, "session"):
        _thread_sessions.session = requests.Session()
    response = _thread_sessions.session.get(url, timeout=120)
    response.raise_for_status()
    return response.text


def fetch_and_analyse(url):
    return analyse(fetch_text_blocking(url))


async def fetch_texts(session, urls):
    async def one(url):
        async with session.get(url) as response:
            response.raise_for_status()
            return await response.text()
    return await asyncio.gather(*(one(u) for u in urls))


def mixed(model):
    urls = INPUTS["urls"]
    cores = os.cpu_count() or 1
    if model == "sequential":
        summaries = [fetch_and_analyse(u) for u in urls]
    elif model.startswith("threads_"):
        with ThreadPoolExecutor(max_workers=int(model.split("_")[1])) as pool:
            summaries = list(pool.map(fetch_and_analyse, urls))
    elif model == "fetch_then_analyse":
        import aiohttp

        async def fetch_all():
            connector = aiohttp.TCPConnector(limit=len(urls))
            async with aiohttp.ClientSession(connector=connector) as session:
                return await fetch_texts(session, urls)

        texts = asyncio.run(fetch_all())
        with ProcessPoolExecutor(max_workers=cores) as pool:
            summaries = list(pool.map(analyse, texts))
    elif model == "hybrid_pipelined":
        import aiohttp

        async def pipeline():
            loop = asyncio.get_running_loop()
            ahead = asyncio.Semaphore(4 * cores)  # the same back-pressure as Trident's
            connector = aiohttp.TCPConnector(limit=len(urls))
            with ProcessPoolExecutor(max_workers=cores) as pool:
                async with aiohttp.ClientSession(connector=connector) as session:
                    async def one(url):
                        async with ahead:
                            async with session.get(url) as response:
                                response.raise_for_status()
                                text = await response.text()
                            return await loop.run_in_executor(pool, analyse, text)
                    return await asyncio.gather(*(one(u) for u in urls))

        summaries = asyncio.run(pipeline())
    else:
        return None
    return len(summaries), 0


SCENARIOS = {"web": web, "images": images, "db": db, "mixed": mixed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--model", required=True)
    parser.add_argument("--warm-up", action="store_true", help="run once untimed first")
    # What the suites' runner passes to every script (the case is the scenario; one run each time).
    parser.add_argument("--case", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with open(args.inputs) as f:
        INPUTS.update(json.load(f))
    run = SCENARIOS[args.scenario]
    if args.warm_up:
        run(args.model)
    outcome, wall, cpu, peak = measure(lambda: run(args.model))
    if outcome is None:
        print(f"note: python has no model {args.model} for {args.scenario}")
        return 3
    items, failed = outcome
    print(json.dumps({"suite": "scenarios", "case": args.scenario, "impl": "python_" + args.model, "value": wall,
                      "unit": "s", "cpu_s": cpu, "peak_bytes": peak, "items": items, "failed": failed},
                     separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
