#!/usr/bin/env python3
"""Checks that a Chrome trace JSON file (what `trident ... --trace FILE` writes) keeps the format's rules.

Viewers (Perfetto, chrome://tracing) silently mis-draw a trace that breaks them, so Trident's
tests run this on every kind of trace Trident writes. The rules:

1. The file is valid JSON: an object with a "traceEvents" list (or a bare list of events).
2. Complete events ("ph":"X") on one lane (pid, tid) nest: two of them either are disjoint or
   one contains the other. Partial overlap is forbidden on one lane (use async events for work
   that interleaves on a thread).
3. Every async begin ("ph":"b") has a matching end ("ph":"e") with the same cat, id and pid,
   and no end comes without its begin (or before it).
4. Every lane (pid, tid) that an event uses has a "thread_name" metadata event ("ph":"M").
5. Every pid that an event uses has a "process_name" metadata event.

Usage: check_trace.py FILE...   Exit status 0 when every file passes; otherwise 1, with one
line per problem on stdout.
"""

import json
import sys
from collections import defaultdict

# A complete event's end is ts + dur, both printed with three decimals (nanoseconds): allow
# that rounding when comparing ends.
EPSILON_US = 0.002
MAX_REPORTED = 20


def check_events(events):
    """Returns a list of problems (strings); empty when the events keep every rule."""
    problems = []
    process_names = set()
    thread_names = set()
    lanes_used = set()
    pids_used = set()
    complete = defaultdict(list)  # (pid, tid) -> [(start, end, name)]
    async_open = defaultdict(list)  # (cat, id, pid) -> [ts of open begins]
    for i, e in enumerate(events):
        if not isinstance(e, dict) or "ph" not in e:
            problems.append(f"event {i} is not an object with a 'ph'")
            continue
        ph = e["ph"]
        pid, tid = e.get("pid"), e.get("tid")
        if ph == "M":
            if e.get("name") == "process_name":
                process_names.add(pid)
            elif e.get("name") == "thread_name":
                thread_names.add((pid, tid))
            continue
        lanes_used.add((pid, tid))
        pids_used.add(pid)
        if ph == "X":
            start = float(e["ts"])
            complete[(pid, tid)].append((start, start + float(e.get("dur", 0)), e.get("name")))
        elif ph in ("b", "e"):
            if "id" not in e or "cat" not in e:
                problems.append(f"async event {i} ({e.get('name')!r}) has no id or no cat")
                continue
            key = (e["cat"], str(e["id"]), pid)
            if ph == "b":
                async_open[key].append(float(e["ts"]))
            elif not async_open[key]:
                problems.append(f"async end without a begin: cat={key[0]!r} id={key[1]} pid={pid} ({e.get('name')!r})")
            else:
                began = async_open[key].pop()
                if float(e["ts"]) + EPSILON_US < began:
                    problems.append(f"async end before its begin: cat={key[0]!r} id={key[1]} pid={pid}")
    for key, begins in async_open.items():
        for _ in begins:
            problems.append(f"async begin without an end: cat={key[0]!r} id={key[1]} pid={key[2]}")

    overlaps = 0
    for lane, spans in complete.items():
        # Sorted by start, longest first: then a well-nested lane is a stack.
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for start, end, name in spans:
            while stack and stack[-1][1] <= start + EPSILON_US:
                stack.pop()
            if stack and end > stack[-1][1] + EPSILON_US:
                overlaps += 1
                if overlaps <= MAX_REPORTED:
                    outer = stack[-1]
                    problems.append(
                        f"complete events overlap without nesting on lane pid={lane[0]} tid={lane[1]}: "
                        f"{outer[2]!r} [{outer[0]:.3f}, {outer[1]:.3f}] and {name!r} [{start:.3f}, {end:.3f}]")
                continue  # keep the stack as it was: the offending span is reported, not nested
            stack.append((start, end, name))
    if overlaps > MAX_REPORTED:
        problems.append(f"... {overlaps} overlapping, non-nested pairs of complete events in all")

    unnamed_lanes = sorted(lanes_used - thread_names, key=str)
    for pid, tid in unnamed_lanes[:MAX_REPORTED]:
        problems.append(f"lane pid={pid} tid={tid} has no thread_name")
    if len(unnamed_lanes) > MAX_REPORTED:
        problems.append(f"... {len(unnamed_lanes)} of {len(lanes_used)} lanes have no thread_name")
    for pid in sorted(pids_used - process_names, key=str):
        problems.append(f"pid {pid} has no process_name")
    return problems


def check_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return [f"not valid JSON: {e}"]
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        return ["no traceEvents list"]
    return check_events(events)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    failed = False
    for path in argv[1:]:
        problems = check_file(path)
        for p in problems:
            print(f"{path}: {p}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
