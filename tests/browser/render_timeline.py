#!/usr/bin/env python3
"""Renders Trident's HTML timeline pages in headless Chromium and checks what they show.

  render_timeline.py --pages PROGRAM --out DIR [--chromium PATH]

PROGRAM (tests/browser/timeline_pages.cpp) records spans and writes NAME.html pages with a
NAME.expected.json each into DIR. For every page this script asks Chromium for the DOM after
the page's script ran (--dump-dom), reads the summary the page publishes in
<pre id="timeline-summary"> (the same object as window.tridentTimeline), and checks it against
what was recorded: the lanes (pid, tid), the spans on each, the sub-rows their overlapping
asynchronous spans need (the most in flight at once), the names given to threads, worker
processes on lanes of their own, and every lane's busy share. It then takes a screenshot
(DIR/NAME.png, 1400x900) for a person to look at, and finally hovers, zooms and pans a copy of
the page with synthetic events (and folds its first process): a tooltip must show a span, a
folded lane none, and no script error may occur.
No timing is asserted.

Exit status 0 when every page matches, 1 otherwise (each problem on its own line).
"""
import argparse
import html
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile

SUMMARY = re.compile(r'<pre id="timeline-summary"[^>]*>(.*?)</pre>', re.S)


def chromium_command(chromium, profile):
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}"]


def run(command, timeout):
    """Runs command in its own process group, which is killed whole if it outlives timeout."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise RuntimeError(f"{command[0]} did not finish within {timeout} s")
    finally:
        # Chromium's helpers (zygote, GPU, network service) must not outlive the test.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def rendered_summary(chromium, page):
    with tempfile.TemporaryDirectory(prefix="trident-chromium-") as profile:
        rc, dom, err = run(chromium_command(chromium, profile) + ["--dump-dom", page.as_uri()], timeout=180)
    if rc != 0:
        raise RuntimeError(f"chromium --dump-dom exited with {rc}: {err[-2000:]}")
    m = SUMMARY.search(dom)
    if not m or not m.group(1).strip():
        raise RuntimeError("the page published no summary in <pre id=\"timeline-summary\"> (its script failed?)")
    return json.loads(html.unescape(m.group(1)))


def screenshot(chromium, page, png):
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="trident-chromium-") as profile:
        rc, _, err = run(chromium_command(chromium, profile) +
                         [f"--screenshot={png}", "--window-size=1400,900", "--hide-scrollbars", page.as_uri()],
                         timeout=180)
    if rc != 0 or not png.exists():
        raise RuntimeError(f"chromium --screenshot exited with {rc} and wrote no {png.name}: {err[-2000:]}")
    with open(png, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            raise RuntimeError(f"{png} is not a PNG")


# Appended to a copy of each page: hovers over the canvas until the tooltip shows a span, then
# zooms (wheel, keys), pans (drag, keys) and resets, and reports the tooltip's text and any
# script error in <pre id="probe">.
PROBE = """
<script>
window.probeErrors = [];
window.addEventListener("error", function (e) { window.probeErrors.push(String(e.message)); });
setTimeout(function () {
  var canvas = document.getElementById("timeline"), tip = document.getElementById("tooltip");
  var box = canvas.getBoundingClientRect(), hover = null;
  function init(x, y, more) {
    var o = { clientX: box.left + x, clientY: box.top + y, bubbles: true, cancelable: true, pointerId: 7 };
    for (var k in more || {}) o[k] = more[k];
    return o;
  }
  for (var y = 32; y < box.height && hover === null; y += 3) {
    for (var x = 300; x < box.width && hover === null; x += 2) {
      canvas.dispatchEvent(new PointerEvent("pointermove", init(x, y)));
      if (!tip.hidden) hover = tip.textContent;
    }
  }
  // Before anything scrolls: fold the first process (a click on its band), then hover where
  // its first lane was.
  canvas.dispatchEvent(new PointerEvent("pointerdown", init(400, 40)));
  canvas.dispatchEvent(new PointerEvent("pointerup", init(400, 40)));
  canvas.dispatchEvent(new PointerEvent("pointermove", init(700, 60)));
  var foldedHover = !tip.hidden;
  canvas.dispatchEvent(new PointerEvent("pointerdown", init(400, 40)));
  canvas.dispatchEvent(new PointerEvent("pointerup", init(400, 40)));
  canvas.dispatchEvent(new WheelEvent("wheel", init(700, 120, { deltaY: -600 })));
  canvas.dispatchEvent(new WheelEvent("wheel", init(700, 120, { deltaX: 300 })));
  canvas.dispatchEvent(new PointerEvent("pointerdown", init(800, 200)));
  canvas.dispatchEvent(new PointerEvent("pointermove", init(700, 150)));
  canvas.dispatchEvent(new PointerEvent("pointerup", init(700, 150)));
  canvas.dispatchEvent(new MouseEvent("dblclick", init(700, 120)));
  ["+", "+", "-", "ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp", "PageDown", "0"].forEach(function (key) {
    window.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true }));
  });
  setTimeout(function () {
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify({ hover: hover, foldedHover: foldedHover, errors: window.probeErrors });
    document.body.appendChild(out);
  }, 300);
}, 100);
</script>
"""
PROBE_RESULT = re.compile(r'<pre id="probe">(.*?)</pre>', re.S)


def probe(chromium, page):
    """Hovers, zooms and pans a copy of `page`; returns (tooltip text or None, script errors)."""
    copy = page.with_name(page.stem + ".probe.html")
    text = page.read_text()
    at = text.rindex("</body>")
    copy.write_text(text[:at] + PROBE + text[at:])
    with tempfile.TemporaryDirectory(prefix="trident-chromium-") as profile:
        rc, dom, err = run(chromium_command(chromium, profile) +
                           ["--window-size=1400,900", "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()],
                           timeout=180)
    if rc != 0:
        raise RuntimeError(f"chromium --dump-dom of the probe exited with {rc}: {err[-2000:]}")
    m = PROBE_RESULT.search(dom)
    if not m:
        raise RuntimeError("the probe reported nothing (did the page's script stop?)")
    result = json.loads(html.unescape(m.group(1)))
    if result["foldedHover"]:
        result["errors"].append("a folded process's lane still shows a tooltip")
    return result["hover"], result["errors"]


def compare(name, summary, expected):
    problems = []
    if summary.get("rendered") is not True:
        problems.append("rendered is not true")
    if summary.get("spanCount") != expected["spanCount"]:
        problems.append(f"spanCount {summary.get('spanCount')}, recorded {expected['spanCount']}")
    categories = {c["name"]: c["spans"] for c in summary.get("categories", [])}
    if categories != expected["categories"]:
        problems.append(f"categories {categories}, recorded {expected['categories']}")
    shown = {(lane["pid"], lane["tid"]): lane for lane in summary.get("lanes", [])}
    recorded = {(lane["pid"], lane["tid"]): lane for lane in expected["lanes"]}
    for key in sorted(recorded.keys() - shown.keys()):
        problems.append(f"lane pid {key[0]} tid {key[1]} ({recorded[key]['spans']} spans) is not shown")
    for key in sorted(shown.keys() - recorded.keys()):
        problems.append(f"lane pid {key[0]} tid {key[1]} is shown but nothing was recorded there")
    for key in sorted(recorded.keys() & shown.keys()):
        want, got = recorded[key], shown[key]
        if got["spans"] != want["spans"]:
            problems.append(f"lane {got['name']!r} shows {got['spans']} spans, recorded {want['spans']}")
        if "name" in want and got["name"] != want["name"]:
            problems.append(f"lane tid {key[1]} is named {got['name']!r}, the program named it {want['name']!r}")
        if got["asyncRows"] != want["asyncRows"]:
            problems.append(f"lane {got['name']!r} lays its asynchronous spans out on {got['asyncRows']} sub-rows; "
                            f"at most {want['asyncRows']} overlap")
        # The page rounds to a tenth of a percent.
        if abs(got["busyPercent"] - want["busyPercent"]) > 0.051:
            problems.append(f"lane {got['name']!r} shows {got['busyPercent']}% busy, recorded {want['busyPercent']:.3f}%")
    # Worker processes: a lane of their own, in a process named after the worker.
    for pid in expected["workerPids"]:
        for lane in (lane for (p, _), lane in shown.items() if p == pid):
            if not lane["process"].startswith("worker "):
                problems.append(f"worker pid {pid}'s lane is in process {lane['process']!r}")
    worker_pids_shown = {p for (p, _) in shown if p != expected["writerPid"]}
    if expected["workerPids"] and not worker_pids_shown:
        problems.append("no worker process has a lane")
    if not worker_pids_shown <= set(expected["workerPids"]):
        problems.append(f"lanes of unknown processes: {sorted(worker_pids_shown - set(expected['workerPids']))}")
    return [f"{name}: {p}" for p in problems]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", required=True, help="the program that writes the pages")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="folder for the pages and screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"render_timeline.py: Chromium not found at {args.chromium}: the browser test needs it; "
              "install it with `apt-get install chromium` (tools/dev.sh installs it)", file=sys.stderr)
        return 1
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rc, _, err = run([args.pages, str(out)], timeout=120)
    if rc != 0:
        print(f"render_timeline.py: {args.pages} failed ({rc}): {err}", file=sys.stderr)
        return 1

    problems = []
    pages = sorted(p for p in out.glob("*.html") if not p.name.endswith(".probe.html"))
    if not pages:
        problems.append(f"{args.pages} wrote no page")
    for page in pages:
        expected = json.loads(page.with_suffix(".expected.json").read_text())
        try:
            summary = rendered_summary(chromium, page)
            problems += compare(page.stem, summary, expected)
            screenshot(chromium, page, page.with_suffix(".png"))
            hover, errors = probe(chromium, page)
            problems += [f"{page.stem}: script error while zooming or panning: {e}" for e in errors]
            if hover is None:
                problems.append(f"{page.stem}: hovering the canvas never showed a span's tooltip")
            elif not all(word in hover for word in ("category", "start", "duration", "thread", "process")):
                problems.append(f"{page.stem}: the tooltip lacks a field: {hover!r}")
        except (RuntimeError, json.JSONDecodeError) as e:
            problems.append(f"{page.stem}: {e}")
            continue
        lanes = summary["lanes"]
        print(f"{page.stem}: {summary['spanCount']} spans on {len(lanes)} lanes in {summary['processCount']} "
              f"processes rendered (layout {summary['layoutMs']} ms, first drawing {summary['firstDrawMs']} ms); "
              f"screenshot {page.with_suffix('.png')}; hover: {hover!r}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
