#!/usr/bin/env python3
"""The aiohttp side of `trident bench http`: the same two workloads as Trident, timed inside
this process (interpreter start-up and imports excluded).

  files URL_LIST OUT_DIR   download every URL of URL_LIST into OUT_DIR, one ClientSession,
                           asyncio.Semaphore(50), chunks written as they arrive
  requests URL N           N GETs of URL at concurrency 50 through one ClientSession

Prints one JSON line {"case":..., "impl":"aiohttp", "value":..., "unit":...}.
"""
import asyncio
import json
import os
import sys
import time

import aiohttp

CONCURRENCY = 50


async def download(session, sem, url, path):
    async with sem:
        async with session.get(url) as resp:
            resp.raise_for_status()
            with open(path, "wb") as f:
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    f.write(chunk)


async def files(url_list, out_dir):
    with open(url_list) as f:
        urls = [line.split("\t")[0].strip() for line in f if line.strip()]
    sem = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(download(session, sem, u, os.path.join(out_dir, u.rsplit("/", 1)[-1])) for u in urls))
    return time.perf_counter() - start


async def requests(url, n):
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    remaining = n

    async def worker(session):
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(url) as resp:
                await resp.read()

    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return n / (time.perf_counter() - start)


def main():
    mode = sys.argv[1]
    if mode == "files":
        value = asyncio.run(files(sys.argv[2], sys.argv[3]))
        print(json.dumps({"case": "files_200x75k", "impl": "aiohttp", "value": value, "unit": "s"}))
    elif mode == "requests":
        value = asyncio.run(requests(sys.argv[2], int(sys.argv[3])))
        print(json.dumps({"case": "requests_1k", "impl": "aiohttp", "value": value, "unit": "req/s"}))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
