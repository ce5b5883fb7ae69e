#!/usr/bin/env python3
"""Renders the page of `trident bench --report` in headless Chromium and checks what it shows.

  render_bench_report.py --writer PROGRAM --out DIR [--trident TRIDENT] RESULTS.json...

PROGRAM (tests/browser/bench_report_page.cpp) writes the page from the stored results (one
suite's results document each, tests/browser/bench_results/): no benchmark runs. With
--trident, each document must hold every case its suite has in that build (the list
`trident bench SUITE --case ?` gives), so a case added to a suite without a chart here fails.

Chromium loads the page with a script placed first in <head> that records script errors and
console.error calls; the DOM after the page's script ran (--dump-dom) must hold one chart per
case of each suite, each implementation's row with the ratio to the case's baseline (Trident)
computed here from the same figures, a dashed line for each target that has its figures, the
machine and the date, and the summary the page's script publishes must agree. A screenshot
(DIR/bench_report.png) is left for a person to look at. No timing is asserted.

Exit status 0 when the page matches, 1 otherwise (each problem on its own line).
"""
import argparse
import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from render_timeline import chromium_command, run, screenshot  # noqa: E402

PROBE = """<script>
window.probeErrors = [];
window.addEventListener("error", function (e) { window.probeErrors.push(String(e.message)); });
(function () {
  var original = console.error;
  console.error = function () {
    window.probeErrors.push(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({ errors: window.probeErrors });
  document.body.appendChild(out);
});
</script>
"""
FIGURE = re.compile(r'<figure class="case" data-suite="([^"]*)" data-case="([^"]*)">(.*?)</figure>', re.S)
ROW = re.compile(r'<g class="row[^"]*" data-impl="([^"]*)">.*?<tspan class="ratio">([^<]*)</tspan>', re.S)


def suite_cases(trident, suite):
    """The cases `trident bench SUITE` has, from its answer to an unknown case name."""
    done = subprocess.run([trident, "bench", suite, "--case", "?"], capture_output=True, text=True, timeout=60)
    m = re.search(r"\(valid: ([^)]*)\)", done.stderr)
    if not m:
        raise RuntimeError(f"`trident bench {suite} --case ?` listed no cases: {done.stderr[-500:]}")
    return [c.strip() for c in m.group(1).split(",")]


def expected_ratio(base, row):
    """The text the page gives `row` against the case's baseline (app/bench/report.hpp, advantage)."""
    if row is base:
        return "baseline"
    if base["value"] <= 0 or row["value"] <= 0:
        return ""
    if base["better"] == "higher":
        m, lo, hi = base["value"] / row["value"], base["low"] / row["high"], base["high"] / row["low"]
    else:
        m, lo, hi = row["value"] / base["value"], row["low"] / base["high"], row["high"] / base["low"]
    if base["runs"] <= 1 and row["runs"] <= 1:
        return f"{base['impl']} {m:.2f}\u00d7"  # one round each: no range
    return f"{base['impl']} {m:.2f}\u00d7 ({lo:.2f}\u2013{hi:.2f})"


def targets_drawn(doc, case):
    """Targets of `case` whose line the page can place: own bounds, or a peer with a figure."""
    impls = {r["impl"] for r in doc["rows"] if r["case"] == case}
    return sum(1 for t in doc["targets"] if t["case"] == case and (not t["versus"] or t["versus"] in impls))


def check(args):
    problems = []
    docs = [json.loads(pathlib.Path(p).read_text()) for p in args.results]
    if args.trident:
        for doc in docs:
            have = list(dict.fromkeys(r["case"] for r in doc["rows"]))
            want = suite_cases(args.trident, doc["suite"])
            if have != want:
                problems.append(f"{doc['suite']}: the stored results have cases {have}, the suite has {want}")
    args.out.mkdir(parents=True, exist_ok=True)
    page = args.out / "bench_report.html"
    page.unlink(missing_ok=True)
    subprocess.run([args.writer, str(page)] + list(args.results), check=True, timeout=60)
    text = page.read_text()
    for banned in ("http://", "https://", " src=", "<link"):
        if banned in text:
            problems.append(f"the page is not self-contained: it has {banned!r}")

    probed = page.with_name("bench_report.probe.html")
    at = text.index("<head>") + len("<head>")
    probed.write_text(text[:at] + PROBE + text[at:])
    with tempfile.TemporaryDirectory(prefix="trident-chromium-") as profile:
        rc, dom, err = run(chromium_command(args.chromium, profile) +
                           ["--window-size=1200,900", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
                           timeout=180)
    if rc != 0:
        return problems + [f"chromium --dump-dom exited with {rc}: {err[-2000:]}"]
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    if not probe:
        problems.append("the probe reported nothing (the page did not finish loading?)")
    else:
        for e in json.loads(html.unescape(probe.group(1)))["errors"]:
            problems.append(f"script error or console.error: {e}")

    figures = [(html.unescape(s), html.unescape(c), body) for s, c, body in FIGURE.findall(dom)]
    for doc in docs:
        suite = doc["suite"]
        cases = list(dict.fromkeys(r["case"] for r in doc["rows"]))
        drawn = [c for s, c, _ in figures if s == suite]
        if drawn != cases:
            problems.append(f"{suite}: charts for {drawn}, cases {cases}")
        for s, case, body in figures:
            if s != suite:
                continue
            rows = [r for r in doc["rows"] if r["case"] == case]
            base = next((r for r in rows if r["impl"] == "trident"), rows[0])
            shown = {html.unescape(i): html.unescape(t) for i, t in ROW.findall(body)}
            for r in rows:
                want = expected_ratio(base, r)
                if shown.get(r["impl"]) != want:
                    problems.append(f"{suite}/{case}/{r['impl']}: ratio {shown.get(r['impl'])!r}, expected {want!r}")
            lines = body.count('<g class="target">')
            if lines != targets_drawn(doc, case):
                problems.append(f"{suite}/{case}: {lines} target line(s), expected {targets_drawn(doc, case)}")
    summary = re.search(r'<pre id="report-summary"[^>]*>(.*?)</pre>', dom, re.S)
    if not summary or not summary.group(1).strip():
        problems.append("the page's script published no summary in <pre id=\"report-summary\">")
    else:
        published = json.loads(html.unescape(summary.group(1)))["cases"]
        want = [(d["suite"], c) for d in docs for c in dict.fromkeys(r["case"] for r in d["rows"])]
        if [(c["suite"], c["case"]) for c in published] != want:
            problems.append(f"the page's summary lists {[(c['suite'], c['case']) for c in published]}, expected {want}")
    for needle in ("2026-12-07T13:00:00Z", 'id="kernel"', 'id="compiler"', 'id="load-before"', 'id="load-after"',
                   'id="cores"'):
        if needle not in dom:
            problems.append(f"the machine or date is missing: no {needle}")
    screenshot(args.chromium, page, args.out / "bench_report.png")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writer", required=True, help="the page writer (bench_report_page)")
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--trident", help="the trident program, to check that every case of each suite is covered")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("results", nargs="+")
    args = parser.parse_args()
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"render_bench_report.py: Chromium not found at {args.chromium}: the browser test needs it; "
              "install it with `apt-get install chromium` (tools/dev.sh installs it)", file=sys.stderr)
        return 1
    args.chromium = chromium
    problems = check(args)
    for p in problems:
        print(p)
    if not problems:
        print(f"bench report: {len(args.results)} suite(s) rendered as expected; "
              f"screenshot {args.out / 'bench_report.png'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
