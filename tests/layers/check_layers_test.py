#!/usr/bin/env python3
"""tools/check_layers.py against a small tree of four layers, clean and with one violation each.

  check_layers_test.py CASE     builds the tree in a temporary folder, applies CASE, runs the check
                                with --root and asserts its exit status and its messages

Each failing case asserts that the check exits 1 and prints exactly the expected violations, each
naming the file and the rule ("src/proc/pool.cpp:2: [other-detail] ..."). The tree:

  core <- exec <- aio <- proc     (proc's DEPS: aio and exec; aio's: core and exec)
"""
import pathlib
import re
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).resolve().parents[2] / "tools" / "check_layers.py"

TREE = {
    "CMakeLists.txt": """\
# trident_add_layer(commented BELOW nothing) is not a call
trident_add_layer(core SOURCES src/core/errors.cpp)
trident_add_layer(exec DEPS core SOURCES
  src/exec/pool.cpp)
trident_add_layer(aio DEPS core exec SOURCES src/aio/loop.cpp)
trident_add_layer(proc DEPS exec aio SOURCES src/proc/pool.cpp)
trident_add_umbrella(core exec aio proc)
""",
    "include/trident/core/errors.hpp": "#pragma once\nnamespace trident { struct error {}; }\n",
    "include/trident/exec/pool.hpp": """\
#pragma once
#include "trident/core/errors.hpp"
namespace trident::exec {
struct pool {};
}  // namespace trident::exec
""",
    "include/trident/aio/detail/loop_state.hpp": "#pragma once\nnamespace trident::aio::detail { struct state {}; }\n",
    "include/trident/aio/run_in.hpp": """\
#pragma once
#include "trident/aio/detail/loop_state.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/pool.hpp"
// #include "trident/proc/pool.hpp" in a comment is no include
namespace trident::aio {
/* namespace trident::proc { in a comment opens nothing */
inline const char* text = "namespace trident::proc {";
template <class Executor> void run_in(Executor&) {}
}  // namespace trident::aio
""",
    "include/trident/proc/pool.hpp": """\
#pragma once
#include "trident/aio/run_in.hpp"
#include "trident/exec/pool.hpp"
namespace trident::proc {
namespace detail {
struct job {};
}  // namespace detail
struct process_pool { void submit(); };
}  // namespace trident::proc
""",
    "include/trident/trident.hpp": """\
#pragma once
#include "trident/aio/run_in.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/pool.hpp"
#include "trident/proc/pool.hpp"
""",
    "src/core/errors.cpp": '#include "trident/core/errors.hpp"\n',
    "src/exec/pool.cpp": '#include "trident/exec/pool.hpp"\n',
    "src/aio/loop.cpp": '#include "trident/aio/run_in.hpp"\nnamespace trident::aio::detail {}\n',
    "src/proc/pool.cpp": '#include "trident/proc/pool.hpp"\n',
    "app/commands/main.cpp": '#include "trident/trident.hpp"\nint main() {}\n',
    "tests/unit/aio/loop_test.cpp": '#include "trident/aio/detail/loop_state.hpp"\nnamespace trident::aio {}\n',
    "build/release/CMakeCache.txt": "",
    "build/release/generated/namespace.cpp": "namespace trident::aio {}\n",  # a build tree: not scanned
    "docs/layers.md": "# Layers\n\nGRAPH\n\nProse after the graph.\n",
}


def append(path, text):
    return lambda root: (root / path).write_text((root / path).read_text() + text)


def write(path, text):
    def apply(root):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return apply


def replace(path, old, new):
    def apply(root):
        text = (root / path).read_text()
        assert old in text, f"the case's text is not in {path}"
        (root / path).write_text(text.replace(old, new))
    return apply


# Each case: what it does to the clean tree, and the violations the check must print (regular
# expressions over whole lines: the file, the line where there is one, the rule).
CASES = {
    "clean_tree": (lambda root: None, []),
    "upward_include": (
        append("include/trident/exec/pool.hpp", '#include "trident/aio/run_in.hpp"\n'),
        [r"include/trident/exec/pool\.hpp:6: \[upward-include\] the exec layer includes trident/aio/, "
         r"but aio is not among exec's DEPS \(CMakeLists\.txt:3: core\)"]),
    "undeclared_include_of_a_lower_layer": (
        append("src/proc/pool.cpp", '#include "trident/core/errors.hpp"\n'),
        [r"src/proc/pool\.cpp:2: \[upward-include\] the proc layer includes trident/core/, "
         r"but core is not among proc's DEPS \(CMakeLists\.txt:6: exec aio\)"]),
    "unused_dep_listed": (
        replace("CMakeLists.txt", "trident_add_layer(proc DEPS exec aio", "trident_add_layer(proc DEPS core exec aio"),
        [r"CMakeLists\.txt:6: \[unused-dep\] the proc layer lists core in DEPS but includes nothing of "
         r"trident/core/; the target links more than it uses",
         r"docs/layers\.md: \[docs\] the layer graph differs from the trident_add_layer calls .*"]),
    "other_detail_header": (
        append("src/proc/pool.cpp", '#include "trident/aio/detail/loop_state.hpp"\n'),
        [r"src/proc/pool\.cpp:2: \[other-detail\] includes trident/aio/detail/, private to the aio layer"]),
    "other_detail_namespace": (
        append("src/proc/pool.cpp", "int n = sizeof(trident::aio::detail::state);\n"),
        [r"src/proc/pool\.cpp:2: \[other-detail\] names aio::detail::, private to the aio layer"]),
    "product_detail": (
        append("app/commands/main.cpp", '#include "trident/proc/detail/job.hpp"\n'),
        [r"app/commands/main\.cpp:3: \[other-detail\] includes trident/proc/detail/, private to the proc layer"]),
    "other_namespace_opened": (
        append("include/trident/proc/pool.hpp",
               "namespace trident::aio {\ninline void run_in(proc::process_pool&) {}\n}  // namespace trident::aio\n"),
        [r"include/trident/proc/pool\.hpp:10: \[other-namespace\] the proc layer opens namespace trident::aio, "
         r"which belongs to the aio layer; .*"]),
    "other_namespace_opened_nested": (
        append("src/proc/pool.cpp", "namespace trident {\nnamespace proc {}\nnamespace aio {\nvoid f();\n}\n}\n"),
        [r"src/proc/pool\.cpp:4: \[other-namespace\] the proc layer opens namespace trident::aio, .*"]),
    "product_opens_a_layer_namespace": (
        append("app/commands/main.cpp", "namespace trident::proc { int hook; }\n"),
        [r"app/commands/main\.cpp:3: \[other-namespace\] app/ code opens namespace trident::proc, "
         r"which belongs to the proc layer; .*"]),
    "library_includes_product_code": (
        append("src/aio/loop.cpp", '#include "trident/testing/temp_dir.hpp"\n#include "app/commands/progress.hpp"\n'),
        [r"src/aio/loop\.cpp:3: \[product-include\] the aio layer includes product code .*",
         r"src/aio/loop\.cpp:4: \[product-include\] the aio layer includes product code .*"]),
    "folder_not_scanned": (
        lambda root: [write(f"scripts/{name}.cpp", '#include "trident/trident.hpp"\n')(root) for name in ("tool", "x")],
        [r"scripts/tool\.cpp: \[unknown-folder\] C\+\+ in scripts/, a folder this check does not know; .*"]),
    # The top-level build/ holds outputs and third-party files (tools/gpu_check.sh's bundle),
    # with or without a CMakeCache.txt: never scanned.
    "build_folder_is_not_scanned": (
        write("build/gpu-check/openssl/include/openssl/aes.h", "namespace trident::proc { int hook; }\n"),
        []),
    "fuzz_target_uses_details": (
        write("fuzz/pool_fuzz.cpp", '#include "trident/proc/pool.hpp"\n#include "trident/aio/detail/loop_state.hpp"\n'
                                    "int n = sizeof(trident::proc::detail::job) + sizeof(trident::aio::detail::state);\n"),
        []),
    "fuzz_target_opens_a_layer_namespace": (
        write("fuzz/pool_fuzz.cpp", "namespace trident::proc { int hook; }\n"),
        [r"fuzz/pool_fuzz\.cpp:1: \[other-namespace\] fuzz/ code opens namespace trident::proc, "
         r"which belongs to the proc layer; .*"]),
    "source_folder_of_no_layer": (
        write("src/net/socket.cpp", "int socket_count;\n"),
        [r"src/net/socket\.cpp: \[unknown-folder\] C\+\+ in src/net/, not a layer: no trident_add_layer call "
         r"defines it; .*"]),
    "docs_differ": (
        replace("docs/layers.md", "| proc | exec aio |", "| proc | aio |"),
        [r"docs/layers\.md: \[docs\] the layer graph differs from the trident_add_layer calls "
         r"\(run tools/check_layers\.py --write-docs\)"]),
    "root_namespace_declared_in": (
        append("include/trident/exec/pool.hpp", "namespace trident {\nnamespace exec {}\nstruct pool_options {};\n}\n"),
        [r"include/trident/exec/pool\.hpp:8: \[root-namespace\] the exec layer declares a name directly in "
         r"trident::; its names live in trident::exec \(only core's vocabulary is in the root namespace\)"]),
    "root_namespace_nested_or_deprecated_names_pass": (
        lambda root: [
            append("src/exec/pool.cpp", "namespace trident {\nnamespace exec::detail {\nint n;\n}\n}\n")(root),
            write("include/trident/exec/deprecated_names.hpp",
                  "namespace trident {\n"
                  "using pool [[deprecated(\"use trident::exec::pool\")]] = exec::pool;\n}\n")(root),
            append("include/trident/trident.hpp", '#include "trident/exec/deprecated_names.hpp"\n')(root)],
        []),
    "umbrella_misses_a_header": (
        write("include/trident/exec/when_all.hpp", '#pragma once\n#include "trident/exec/pool.hpp"\n'),
        [r"include/trident/trident\.hpp: \[umbrella\] does not include trident/exec/when_all\.hpp"]),
}


def run(root, *extra):
    result = subprocess.run([sys.executable, str(CHECK), "--root", str(root), *extra],
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} {{{','.join(CASES)}}}")
        return 2
    change, expected = CASES[sys.argv[1]]
    with tempfile.TemporaryDirectory(prefix="trident-layers-") as folder:
        root = pathlib.Path(folder)
        for path, text in TREE.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        # The docs' graph comes from the script itself (its format is not this test's subject);
        # the markers are the script's.
        sys.path.insert(0, str(CHECK.parent))
        import check_layers
        docs = root / "docs/layers.md"
        docs.write_text(docs.read_text().replace("GRAPH", check_layers.DOCS_BEGIN + "\n" + check_layers.DOCS_END))
        status, output = run(root, "--write-docs")
        if status != 0:
            print(f"FAIL: the clean tree does not pass:\n{output}")
            return 1
        if "core -> " in docs.read_text() or "proc -> aio" not in docs.read_text():
            print(f"FAIL: the generated graph does not draw proc on aio alone:\n{docs.read_text()}")
            return 1

        change(root)
        status, output = run(root)
        lines = [line for line in output.splitlines() if "] " in line]
        want_status = 1 if expected else 0
        failures = []
        if status != want_status:
            failures.append(f"exit status {status}, expected {want_status}")
        for pattern in expected:
            if not any(re.fullmatch(pattern, line) for line in lines):
                failures.append(f"no line matches {pattern!r}")
        for line in lines:
            if not any(re.fullmatch(pattern, line) for pattern in expected):
                failures.append(f"unexpected violation: {line}")
        if failures:
            print("FAIL: " + "\n      ".join(failures) + f"\n--- output of check_layers.py ---\n{output}")
            return 1
        print(f"ok: {sys.argv[1]}\n{output}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
