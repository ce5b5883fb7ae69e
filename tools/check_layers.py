#!/usr/bin/env python3
"""Checks the layer boundaries that the build alone cannot see.

The build already refuses an upward #include in compiled code (each layer's include directory
holds only the layers below it). This check adds what a compiler does not catch:

  1. No code names another layer's private namespace (`aio::detail::`, `exec::detail::`, …) or
     includes another layer's `detail/` headers. Tests may reach into their own layer's.
  2. No code uses the flat `trident::detail` namespace: every layer has its own.
  3. No header, compiled or not, includes a layer that is not below its own.
  4. The command, the examples and the benchmarks use public headers only.
  5. The umbrella trident/trident.hpp includes every public header of the runtime layers (not
     those of the layers with umbrellas of their own, which bring heavy dependencies: cluster
     (MPI, trident/cluster.hpp) and media (FFmpeg, whisper.cpp)).

  tools/check_layers.py        prints every violation; exit 1 if there is any
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each layer and the layers it may use (itself included), from docs/layers.md.
BELOW = {"core": []}
BELOW["trace"] = ["core"]
BELOW["sync"] = ["trace", "core"]
BELOW["exec"] = ["sync", "trace", "core"]
BELOW["aio"] = ["exec", "sync", "trace", "core"]
BELOW["proc"] = ["aio", "exec", "sync", "trace", "core"]
BELOW["http"] = ["aio", "exec", "sync", "trace", "core"]
BELOW["advisor"] = ["proc", "aio", "exec", "sync", "trace", "core"]
BELOW["cluster"] = ["proc", "aio", "exec", "sync", "trace", "core"]
BELOW["media"] = ["http", "aio", "exec", "sync", "trace", "core"]
LAYERS = list(BELOW)
# Layers with heavy dependencies have umbrellas of their own (trident/cluster.hpp, the media
# layer's), not trident.hpp.
OWN_UMBRELLA = {"cluster", "media"}

NAMED_DETAIL = re.compile(r"\b(" + "|".join(LAYERS) + r")::detail\b")
FLAT_DETAIL = re.compile(r"\btrident::detail\b")
OPEN = re.compile(r"^\s*namespace\s+([\w:]*)\s*\{")
CLOSE = re.compile(r"^\s*\}\s*//\s*namespace\b")
INCLUDE = re.compile(r'^\s*#\s*include\s+"trident/([a-z_]+)/(detail/)?', re.M)
COMMENT = re.compile(r"//.*?$|/\*.*?\*/", re.M | re.S)


def owner(path: pathlib.Path):
    """(kind, layer): kind is 'layer', 'test' or 'public-only'; layer may be None."""
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("include", "trident") and len(parts) > 3:
        return "layer", parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return "layer", parts[1]
    if parts[0] == "tests":
        layer = next((p for p in parts if p in BELOW), None)
        return "test", layer
    return "public-only", None


def violations(path: pathlib.Path):
    kind, layer = owner(path)
    text = path.read_text(errors="replace")
    code = COMMENT.sub("", text)
    for m in NAMED_DETAIL.finditer(code):
        if m.group(1) != layer or kind == "public-only":
            yield f"names {m.group(0)}::, private to the {m.group(1)} layer"
    if FLAT_DETAIL.search(code):
        yield "names the flat trident::detail namespace; each layer has trident::<layer>::detail"
    # Private namespaces a file opens: a layer's files open only their own layer's.
    stack = []
    for line in text.splitlines():
        if m := OPEN.match(line):
            stack.append("::".join(filter(None, stack[-1:] + [m.group(1) or "(anonymous)"])))
            name = stack[-1]
            if kind == "layer" and name.endswith("::detail") and name != f"trident::{layer}::detail":
                yield f"opens namespace {name}; the {layer} layer's private code goes in trident::{layer}::detail"
        elif CLOSE.match(line) and stack:
            stack.pop()
    for m in INCLUDE.finditer(code):
        target, is_detail = m.group(1), bool(m.group(2))
        if target not in BELOW:
            continue
        if is_detail and (target != layer or kind == "public-only"):
            yield f"includes trident/{target}/detail/, private to the {target} layer"
        if kind == "layer" and target != layer and target not in BELOW[layer]:
            yield f"includes trident/{target}/, a layer that is not below {layer}"


def main() -> int:
    found = 0
    for folder in ("include", "src", "cli", "examples", "benchmarks", "tests", "testing"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h", ".cc"):
                continue
            for problem in violations(path):
                print(f"{path.relative_to(ROOT)}: {problem}")
                found += 1
    umbrella = (ROOT / "include/trident/trident.hpp").read_text()
    for layer in LAYERS:
        if layer in OWN_UMBRELLA:
            continue
        for header in sorted((ROOT / "include/trident" / layer).rglob("*.hpp")):
            name = header.relative_to(ROOT / "include").as_posix()
            if "/detail/" not in name and f'#include "{name}"' not in umbrella:
                print(f"include/trident/trident.hpp: does not include {name}")
                found += 1
    if found:
        print(f"{found} layer violation(s)")
        return 1
    print("layers: no private name or header of another layer is used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
