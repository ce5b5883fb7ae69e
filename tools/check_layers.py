#!/usr/bin/env python3
"""Checks the layer graph and the layer boundaries that the build alone cannot see.

The layer graph is written once: the `trident_add_layer(NAME DEPS LAYER... SOURCES ...)` calls in
CMakeLists.txt and cmake/*.cmake. This script reads those calls with a regular expression rather
than a file the configure step writes, so that it runs without a build tree and always sees every
layer, including those a configure leaves out (cluster without MPI, media without FFmpeg).

Every folder of the tree that holds C++ is scanned, and each kind of folder has its rule:

  library   include/trident/<layer>/, src/<layer>/, include/trident/<layer>.hpp (the layer's own
            umbrella): includes only its own layer and the layers in its DEPS; uses no other
            layer's detail header or detail:: namespace; opens no other layer's namespace (an
            extension belongs in the layer that owns the verb, found by argument-dependent
            lookup); declares nothing directly in trident:: unless it is core, the root (a
            layer's deprecated_names.hpp, which keeps old spellings for one minor release, is
            the exception); never includes product code (trident/testing/, app/, ...).
  umbrella  include/trident/trident.hpp: includes only the layers of trident_add_umbrella(...).
  product   app/ (the command) examples/ testing/ tools/ (tools/gpu_check's program): may
            include any layer's public headers; no layer's detail; opens no layer's namespace.
  tests     tests/: as product code, except that tests under a layer's folder
            (tests/unit/aio/, tests/media/) may use and open their own layer's detail.
  fuzz      fuzz/: the libFuzzer targets, each driving a layer's parser from inside, so they
            may use any layer's detail headers and detail:: names (as a layer's own tests do);
            they open no layer's namespace.

It fails on each of these rules (the tag in brackets names it):

  [upward-include]   a layer includes a layer that is not among its DEPS
  [unused-dep]       a layer lists in DEPS a layer it includes nothing of (it links more than it uses)
  [other-detail]     another layer's detail/ header or detail:: namespace
  [flat-detail]      the flat trident::detail namespace (each layer has trident::<layer>::detail)
  [other-namespace]  a file opens a namespace of another layer
  [root-namespace]   a layer other than core declares a name directly in trident:: (each layer's
                     names live in trident::<layer>; core's vocabulary alone is the root's)
  [product-include]  the library includes product code
  [unknown-folder]   C++ in a folder this check does not know (a new folder must get a rule here)
  [umbrella]         trident/trident.hpp misses a public header of an umbrella layer, or includes
                     a layer outside the umbrella
  [graph]            the trident_add_layer calls cannot be read, or name a layer not defined first
  [docs]             the layer graph in docs/layers.md differs from the trident_add_layer calls

  tools/check_layers.py                  prints every violation; exit 1 if there is any
  tools/check_layers.py --root DIR       checks the tree at DIR instead of this repository
  tools/check_layers.py --write-docs     rewrites the generated graph in docs/layers.md
"""
import argparse
import pathlib
import re
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent

# Folders of product code (they use the library; the library never uses them).
PRODUCT_FOLDERS = ("app", "examples", "testing", "tools")
# Folders with C++ that are neither library nor product.
TEST_FOLDER = "tests"
FUZZ_FOLDER = "fuzz"
LIBRARY_FOLDERS = ("include", "src")
# Include prefixes of product code, as the library would spell them.
PRODUCT_INCLUDE = re.compile(r'^\s*#\s*include\s+[<"](?:trident/testing/|(?:\.\./)+|(?:' + "|".join(PRODUCT_FOLDERS)
                             + r')/)', re.M)

CXX_SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".cxx", ".hh", ".ipp", ".inl", ".tpp"}

DOCS = pathlib.Path("docs/layers.md")
DOCS_BEGIN = "<!-- Generated from the trident_add_layer calls by tools/check_layers.py --write-docs. -->"
DOCS_END = "<!-- End of the generated layer graph. -->"

CMAKE_COMMENT = re.compile(r"#[^\n]*")
ADD_LAYER = re.compile(r"^[ \t]*trident_add_layer\(([^)]*)\)", re.M)
ADD_UMBRELLA = re.compile(r"^[ \t]*trident_add_umbrella\(([^)]*)\)", re.M)
LAYER_KEYWORDS = {"DEPS", "SOURCES"}

INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]trident/([a-z_]+)/(detail/)?', re.M)
CODE_TOKENS = re.compile(r"\b(?:inline\s+)?namespace\s+([A-Za-z_][\w:]*)?\s*\{|[{}]")
FLAT_DETAIL = re.compile(r"\btrident::detail\b")
# The layer whose names live directly in trident:: (every layer speaks its vocabulary).
ROOT_LAYER = "core"
# A layer's old spellings in trident::, kept as deprecated aliases for one minor release
# (docs/versioning.md).
DEPRECATED_NAMES = "deprecated_names.hpp"


class Graph:
    """The layers, in definition order, each with its DEPS; and the umbrella's layers."""

    def __init__(self):
        self.deps = {}       # layer -> [layer, ...] as written
        self.where = {}      # layer -> "CMakeLists.txt:LINE"
        self.umbrella = []
        self.problems = []   # "[graph] ..." lines

    @property
    def layers(self):
        return list(self.deps)

    def closure(self, layer):
        """The layers `layer` sees through its links: its DEPS and theirs."""
        seen, todo = set(), list(self.deps.get(layer, []))
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo.extend(self.deps.get(d, []))
        return seen


def read_graph(root: pathlib.Path) -> Graph:
    graph = Graph()
    files = [root / "CMakeLists.txt"] + sorted((root / "cmake").glob("*.cmake"))
    for path in files:
        if not path.is_file():
            continue
        text = CMAKE_COMMENT.sub("", path.read_text(errors="replace"))
        name = path.relative_to(root).as_posix()
        for m in ADD_LAYER.finditer(text):
            where = f"{name}:{text.count(chr(10), 0, m.start()) + 1}"
            words = m.group(1).split()
            if not words or not re.fullmatch(r"[a-z_]+", words[0]):
                graph.problems.append(f"{where}: [graph] trident_add_layer({m.group(1).strip()}) names no layer")
                continue
            layer, deps, section = words[0], [], None
            for word in words[1:]:
                if word in LAYER_KEYWORDS:
                    section = word
                elif section == "DEPS":
                    if not re.fullmatch(r"[a-z_]+", word):
                        graph.problems.append(f"{where}: [graph] {layer}'s DEPS holds '{word}'; write layer names "
                                              f"literally so that this check can read them")
                    deps.append(word)
                elif section is None:
                    graph.problems.append(f"{where}: [graph] trident_add_layer({layer}) has '{word}' before "
                                          f"DEPS or SOURCES")
            for d in deps:
                if d not in graph.deps:
                    graph.problems.append(
                        f"{where}: [graph] {layer}'s DEPS names {d}, not a layer defined before it")
            if layer in graph.deps:
                graph.problems.append(
                    f"{where}: [graph] layer {layer} is defined twice (first at {graph.where[layer]})")
            graph.deps[layer] = deps
            graph.where[layer] = where
        for m in ADD_UMBRELLA.finditer(text):
            graph.umbrella = m.group(1).split()
    if not graph.deps:
        graph.problems.append("CMakeLists.txt: [graph] no trident_add_layer(...) call found")
    return graph


def strip_code(text: str) -> str:
    """The text without comments and string or character literals (line breaks kept)."""
    out, i, n = [], 0, len(text)
    blank = lambda s: re.sub(r"[^\n]", " ", s)  # noqa: E731
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c == "R" and (m := re.match(r'R"([^()\\ ]{0,16})\(', text[i:])):
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            j += 1
        elif c == "'" and (m := re.match(r"'(?:\\[^']{1,10}|[^'\\\n])'", text[i:])):
            j = i + len(m.group(0))
        else:
            out.append(c)
            i += 1
            continue
        out.append(blank(text[i:j]))
        i = j
    return "".join(out)


def opened_namespaces(code: str):
    """(line, full name) of every namespace a file opens, nesting resolved (`namespace a { namespace
    b {` opens a::b)."""
    stack = []  # (depth, full name or None for a plain brace)
    for m in CODE_TOKENS.finditer(code):
        token = m.group(0)
        if token == "}":
            if stack:
                stack.pop()
            continue
        if token == "{":
            stack.append(None)
            continue
        outer = next((name for name in reversed(stack) if name is not None), "")
        inner = m.group(1) or "(anonymous)"
        full = f"{outer}::{inner}" if outer else inner
        stack.append(full)
        yield code.count("\n", 0, m.start()) + 1, full


def root_declarations(code: str):
    """Line of the first declaration in each `namespace trident {` block that is made directly in
    trident:: (not in a namespace nested in it)."""
    stack = []  # [full name, reported] of each open scope; None for a plain brace
    last = 0
    for m in CODE_TOKENS.finditer(code):
        top = stack[-1] if stack else None
        if top is not None and top[0] == "trident" and not top[1]:
            for k in re.finditer(r"[^\n]+", code[last:m.start()]):
                if k.group(0).strip() and not k.group(0).lstrip().startswith("#"):
                    top[1] = True
                    yield code.count("\n", 0, last + k.start()) + 1
                    break
        last = m.end()
        token = m.group(0)
        if token == "}":
            if stack:
                stack.pop()
        elif token == "{":
            stack.append(None)
        else:
            outer = next((scope[0] for scope in reversed(stack) if scope is not None), "")
            inner = m.group(1) or "(anonymous)"
            stack.append([f"{outer}::{inner}" if outer else inner, False])


class Checker:
    def __init__(self, root: pathlib.Path, graph: Graph):
        self.root = root
        self.graph = graph
        self.found = []
        self.unknown_folders = set()
        self.included = {layer: set() for layer in graph.layers}  # layer -> layers its files include
        layers = "|".join(map(re.escape, graph.layers)) or "(?!)"
        self.named_detail = re.compile(r"\b(" + layers + r")::detail\b")

    def report(self, path, line, rule, message):
        where = path.relative_to(self.root).as_posix() + (f":{line}" if line else "")
        self.found.append(f"{where}: [{rule}] {message}")

    # Which rule a file falls under: ("library", layer), ("umbrella", None), ("product", folder),
    # ("test", layer or None), ("fuzz", None), or ("unknown", folder to name).
    def classify(self, rel: pathlib.PurePosixPath):
        parts = rel.parts
        layers = self.graph.deps
        if parts[0] == "include":
            if len(parts) >= 3 and parts[1] == "trident":
                if len(parts) == 3:
                    stem = pathlib.PurePosixPath(parts[2]).stem
                    if stem == "trident":
                        return "umbrella", None
                    if stem in layers:
                        return "library", stem
                    return "unknown", "include/trident/" + parts[2]
                if parts[2] in layers:
                    return "library", parts[2]
                return "unknown", "include/trident/" + parts[2] + "/"
            return "unknown", "/".join(parts[:2]) + ("/" if len(parts) > 2 else "")
        if parts[0] == "src":
            if len(parts) >= 3 and parts[1] in layers:
                return "library", parts[1]
            return "unknown", "/".join(parts[:2]) + ("/" if len(parts) > 2 else "")
        if parts[0] in PRODUCT_FOLDERS:
            return "product", parts[0]
        if parts[0] == TEST_FOLDER:
            return "test", next((p for p in parts[1:-1] if p in layers), None)
        if parts[0] == FUZZ_FOLDER:
            return "fuzz", None
        return "unknown", parts[0] + ("/" if len(parts) > 1 else "")

    def check_file(self, path: pathlib.Path):
        rel = pathlib.PurePosixPath(path.relative_to(self.root).as_posix())
        kind, owner = self.classify(rel)
        if kind == "unknown":
            if owner in self.unknown_folders:
                return  # one report per folder
            self.unknown_folders.add(owner)
            what = ("not a layer: no trident_add_layer call defines it" if owner.startswith(("src/", "include/"))
                    else "a folder this check does not know")
            self.report(path, None, "unknown-folder",
                        f"C++ in {owner}, {what}; give it a rule in tools/check_layers.py "
                        f"(library, product, tests or fuzz)")
            return
        layer = owner if kind in ("library", "test") else None
        text = path.read_text(errors="replace")
        code = strip_code(text)
        line_of = lambda pos: code.count("\n", 0, pos) + 1  # noqa: E731

        # Directives are matched in the text (the stripped code has lost the file names) and kept
        # where their `#` survived the stripping, that is, outside comments.
        directive = lambda m: code[text.index("#", m.start())] == "#"  # noqa: E731
        for m in INCLUDE.finditer(text):
            target, is_detail = m.group(1), bool(m.group(2))
            if target not in self.graph.deps or not directive(m):
                continue
            line = line_of(m.start())
            if is_detail and target != layer and kind != "fuzz":
                self.report(path, line, "other-detail",
                            f"includes trident/{target}/detail/, private to the {target} layer")
            if kind == "library":
                if target != layer:
                    self.included[layer].add(target)
                    if target not in self.graph.deps[layer]:
                        self.report(path, line, "upward-include",
                                    f"the {layer} layer includes trident/{target}/, but {target} is not among "
                                    f"{layer}'s DEPS ({self.graph.where[layer]}: "
                                    f"{' '.join(self.graph.deps[layer]) or 'none'})")
            elif kind == "umbrella" and target not in self.graph.umbrella:
                self.report(path, line, "umbrella",
                            f"includes trident/{target}/, a layer outside trident_add_umbrella(...)")
        if kind == "library":
            for m in filter(directive, PRODUCT_INCLUDE.finditer(text)):
                self.report(path, line_of(m.start()), "product-include",
                            f"the {layer} layer includes product code ({m.group(0).split()[-1]}...); "
                            f"the library never depends on app/, testing/ or the like")
        for m in self.named_detail.finditer(code):
            if m.group(1) != layer and kind != "fuzz":
                self.report(path, line_of(m.start()), "other-detail",
                            f"names {m.group(0)}::, private to the {m.group(1)} layer")
        if m := FLAT_DETAIL.search(code):
            self.report(path, line_of(m.start()), "flat-detail",
                        "names the flat trident::detail namespace; each layer has trident::<layer>::detail")
        for line, name in opened_namespaces(code):
            parts = name.split("::")
            if len(parts) >= 2 and parts[0] == "trident" and parts[1] in self.graph.deps and parts[1] != layer:
                whose = f"the {layer} layer" if kind == "library" else f"{rel.parts[0]}/ code"
                self.report(path, line, "other-namespace",
                            f"{whose} opens namespace {name}, which belongs to the {parts[1]} layer; provide an "
                            f"extension point in {parts[1]} (found by argument-dependent lookup) instead")

        if kind == "library" and layer != ROOT_LAYER and rel.name != DEPRECATED_NAMES:
            for line in root_declarations(code):
                self.report(path, line, "root-namespace",
                            f"the {layer} layer declares a name directly in trident::; its names live in "
                            f"trident::{layer} (only {ROOT_LAYER}'s vocabulary is in the root namespace)")

    def check_unused_deps(self):
        for layer, deps in self.graph.deps.items():
            if not (self.root / "include/trident" / layer).is_dir() and not (self.root / "src" / layer).is_dir():
                continue
            for d in deps:
                if d not in self.included[layer]:
                    self.found.append(f"{self.graph.where[layer]}: [unused-dep] the {layer} layer lists {d} in "
                                      f"DEPS but includes nothing of trident/{d}/; the target links more than it uses")

    def check_umbrella(self):
        path = self.root / "include/trident/trident.hpp"
        if not path.is_file():
            return
        umbrella = path.read_text(errors="replace")
        for layer in self.graph.umbrella:
            for header in sorted((self.root / "include/trident" / layer).rglob("*.hpp")):
                name = header.relative_to(self.root / "include").as_posix()
                if "/detail/" in name or is_deprecated_header(header):
                    continue  # a moved header's forwarder warns when included; the umbrella has the new one
                if f'#include "{name}"' not in umbrella:
                    self.report(path, None, "umbrella", f"does not include {name}")


def is_deprecated_header(header: pathlib.Path) -> bool:
    """A moved header's forwarder (docs/versioning.md): it says so with a `#warning`."""
    return re.search(r"^[ \t]*#[ \t]*warning\b", header.read_text(errors="replace"), re.M) is not None


def cxx_files(root: pathlib.Path):
    """Every C++ file under `root`, skipping hidden folders, build trees (a CMakeCache.txt) and
    the top-level build/ folder, which holds build outputs and third-party files (the GPU
    check's bundle, tools/gpu_check.sh) but no source of Trident's."""
    def walk(folder: pathlib.Path):
        if (folder / "CMakeCache.txt").exists() or folder == root / "build":
            return
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                if not entry.name.startswith(".") and entry.name != "__pycache__":
                    yield from walk(entry)
            elif entry.suffix in CXX_SUFFIXES and entry.is_file():
                yield entry
    yield from walk(root)


def levels(graph: Graph):
    """Each layer's level: 0 without DEPS, else one above its highest dependency."""
    level = {}
    for layer in graph.layers:  # definition order: every dependency comes first
        level[layer] = 1 + max((level.get(d, 0) for d in graph.deps[layer]), default=-1)
    return level


def docs_graph(graph: Graph) -> str:
    """The picture and table docs/layers.md shows between its markers."""
    level = levels(graph)
    # Drawn: each layer over the layers right under it (a dependency reached through another is
    # left out of the picture, not out of the table).
    direct = {layer: [d for d in deps if not any(d in graph.closure(o) for o in deps if o != d)]
              for layer, deps in graph.deps.items()}
    lines = [DOCS_BEGIN, "", "```text"]
    for n in sorted(set(level.values()), reverse=True):
        row = [f"{layer} -> {', '.join(direct[layer])}" if direct[layer] else layer
               for layer in graph.layers if level[layer] == n]
        lines.append((f"{n}   " + "".join(f"{cell:<22}" for cell in row)).rstrip())
    lines += ["```", "", "| layer | DEPS: the layers whose headers it includes (and links) |", "| --- | --- |"]
    for layer in sorted(graph.layers, key=lambda l: (-level[l], graph.layers.index(l))):
        lines.append(f"| {layer} | {' '.join(graph.deps[layer]) or '(none: the bottom layer)'} |")
    lines += ["", DOCS_END]
    return "\n".join(lines)


def check_docs(root: pathlib.Path, graph: Graph, write: bool):
    path = root / DOCS
    if not path.is_file():
        return []
    text = path.read_text()
    begin, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if begin < 0 or end < begin:
        return [f"{DOCS.as_posix()}: [docs] no generated layer graph (run tools/check_layers.py --write-docs)"]
    wanted = docs_graph(graph)
    current = text[begin:end + len(DOCS_END)]
    if current == wanted:
        return []
    if write:
        path.write_text(text[:begin] + wanted + text[end + len(DOCS_END):])
        print(f"{DOCS.as_posix()}: layer graph rewritten")
        return []
    return [f"{DOCS.as_posix()}: [docs] the layer graph differs from the trident_add_layer calls "
            f"(run tools/check_layers.py --write-docs)"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=pathlib.Path, default=REPOSITORY, help="the tree to check")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the graph in docs/layers.md")
    args = parser.parse_args(argv)
    root = args.root.resolve()

    graph = read_graph(root)
    checker = Checker(root, graph)
    for path in cxx_files(root):
        checker.check_file(path)
    checker.check_unused_deps()
    checker.check_umbrella()
    found = graph.problems + checker.found + check_docs(root, graph, args.write_docs)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} layer violation(s)")
        return 1
    print(f"layers: {len(graph.layers)} layers as their DEPS say; no upward include, other layer's private name "
          f"or namespace, layer's name in the root namespace, and no folder unchecked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
