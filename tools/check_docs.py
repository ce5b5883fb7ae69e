#!/usr/bin/env python3
"""Checks that the docs stay true to the tree and to the command.

  paths  Every repository path named in docs/*.md, README.md and the comments of the sources
         (C++, CMake, Python, shell) exists: `app/bench/runner.hpp`, `docs/aio.md`,
         `tools/dev.sh`. A path is a word that starts with one of the repository's top-level
         folders; words with a placeholder (`<layer>`, `NN_<slug>`, `*`, `...`) are patterns, not
         paths, and are skipped; so are paths into build or install trees, which start elsewhere
         (`build/`, `bin/`, `share/`). CHANGELOG.md is history and names what was there then.
  flags  Every `--flag` that the docs write after `trident COMMAND` (in a line or a code block)
         is one of that command's flags in `trident COMMAND --help`.

  tools/check_docs.py paths [--root DIR]
  tools/check_docs.py flags --trident PATH [--root DIR]
Prints each problem as FILE:LINE: what is wrong; exit 1 if there is any.
"""
import argparse
import pathlib
import re
import subprocess
import sys

TOP_FOLDERS = ("app", "cmake", "docs", "examples", "include", "src", "testing", "tests", "tools", ".ci")
PATH_WORD = re.compile(r"(?<![\w./-])((?:" + "|".join(re.escape(f) for f in TOP_FOLDERS) +
                       r")/[\w./+-]*[\w/])")
# Any other word that looks like a path to a source or doc file (`benchmarks/runner.cpp`): a
# folder of the repository that may have moved. `trident/...` is an include path: it is looked for
# under include/ and testing/include/. Words under folders that are never the repository's
# (a build or install tree, a system folder, a URL) are skipped.
FILE_WORD = re.compile(r"(?<![\w./:-])([a-z_][\w-]*/[\w./+-]*\.(?:cpp|hpp|h|md|py|sh|cmake|txt|in|json|html|conf))\b")
NOT_REPOSITORY = {"build", "bin", "share", "usr", "lib", "etc", "proc", "dev", "tmp", "home", "root", "var", "opt",
                  "models", "out", "downloads", "sys", "run", "local", "transcripts", "clips", "data", "cpp",
                  "package", "whisper.cpp", "ggml", "CLI", "fmt", "nlohmann", "cereal", "curl", "liburing",
                  "vips", "asio", "uv", "benchmark", "gtest", "gmock", "tbb", "oneapi", "mpi", "openmpi",
                  "libavformat", "libavcodec", "libavutil", "libswresample", "openssl", "linux", "sched", "spawn"}
PLACEHOLDER = re.compile(r"[<>*{}$]|\.\.\.|\bNN_|/[A-Z](?:/|$)")
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".cmake", ".py", ".sh", ".in", ".txt"}
COMMENT = {
    ".cpp": re.compile(r"//(.*)$"), ".hpp": re.compile(r"//(.*)$"), ".h": re.compile(r"//(.*)$"),
    ".cmake": re.compile(r"#(.*)$"), ".txt": re.compile(r"#(.*)$"), ".in": re.compile(r"#(.*)$"),
    ".py": re.compile(r"#(.*)$"), ".sh": re.compile(r"#(.*)$"),
}
COMMANDS = ("tour", "bench", "fetch", "scenarios", "advise", "transcribe", "cluster-demo")
INVOCATION = re.compile(r"\btrident (" + "|".join(COMMANDS) + r")\b([^`\n|]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def tracked_files(root):
    out = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def doc_files(files):
    return [f for f in files if (f.startswith("docs/") and f.endswith(".md")) or f == "README.md"]


SUFFIXES = set()  # every "/a/b.ext" ending of a tracked file, for words relative to some folder


def exists(root, path):
    if isinstance(path, tuple):
        return any(exists(root, p) for p in path)
    path = path.rstrip("/.")
    if (root / path).exists():
        return True
    # A word that does not start with a top-level folder may be relative to the folder it is
    # written about (`detail/frame.hpp` in proc's docs, `compare/http/nginx.conf.in` in the bench
    # suites): it is there when some tracked file ends with it.
    return path.split("/")[0] not in TOP_FOLDERS and "/" + path in SUFFIXES


def check_paths(root, files):
    problems = []
    for name in doc_files(files):
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            problems += [f"{name}:{number}: names {shown(p)}, which is not in the repository"
                         for p in words_in(line) if not exists(root, p)]
    for name in files:
        suffix = pathlib.Path(name).suffix
        if suffix not in SOURCE_SUFFIXES or name.startswith("tests/layers/") or name == "tools/check_docs.py":
            continue
        if suffix == ".txt" and not name.endswith("CMakeLists.txt"):
            continue
        comment = COMMENT[suffix]
        try:
            text = (root / name).read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            m = comment.search(line)
            if not m:
                continue
            # Tests' comments name the files they make (`h/a.txt`): only top-level paths count there.
            words = words_in(m.group(1), relative=not name.startswith("tests/"))
            problems += [f"{name}:{number}: the comment names {shown(p)}, which is not in the repository"
                         for p in words if not exists(root, p)]
    return problems


def words_in(text, relative=True):
    seen = set()
    for m in PATH_WORD.finditer(text):
        word = m.group(1)
        rest = text[m.end():m.end() + 1]
        if PLACEHOLDER.search(word) or rest in ("<", "*", "{", "$"):
            continue
        # `docs/aio.md#anchor` and `file.cpp:123` name the file.
        seen.add(m.start())
        yield word.split("#")[0].split(":")[0]
    for m in FILE_WORD.finditer(text if relative else ""):
        word = m.group(1)
        first = word.split("/")[0]
        if m.start() in seen or first in TOP_FOLDERS or first in NOT_REPOSITORY or PLACEHOLDER.search(word):
            continue
        if text[m.end():m.end() + 1] in ("<", "*", "{", "$"):
            continue
        if first == "trident":
            # trident/version.hpp is generated at configure time from cmake/version.hpp.in.
            yield ("include/" + word, "testing/include/" + word,
                   "cmake/version.hpp.in" if word == "trident/version.hpp" else "include/" + word)
        else:
            yield word


def shown(path):
    return path[0][len("include/"):] if isinstance(path, tuple) else path


def help_flags(trident, command):
    run = subprocess.run([trident, command, "--help"], capture_output=True, text=True)
    if run.returncode != 0:
        return None
    return set(FLAG.findall(run.stdout)) | {"--help"}


def check_flags(root, files, trident):
    problems = []
    known = {}
    for name in doc_files(files):
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            for m in INVOCATION.finditer(line):
                command = m.group(1)
                if command not in known:
                    known[command] = help_flags(trident, command)
                flags = known[command]
                if flags is None:
                    continue  # not built here (media, cluster): nothing to compare with
                for flag in FLAG.findall(m.group(2)):
                    if flag not in flags:
                        problems.append(f"{name}:{number}: `trident {command}` has no flag {flag} "
                                        f"(its --help lists {', '.join(sorted(flags))})")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=("paths", "flags"))
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--trident", help="the trident program (flags)")
    args = parser.parse_args()
    files = tracked_files(args.root)
    for f in files:
        parts = f.split("/")
        for i in range(1, len(parts)):
            SUFFIXES.add("/" + "/".join(parts[i:]))
    if args.check == "paths":
        problems = check_paths(args.root, files)
    else:
        if not args.trident:
            parser.error("flags needs --trident PATH")
        problems = check_flags(args.root, files, args.trident)
    for p in problems:
        print(p)
    if problems:
        print(f"check_docs {args.check}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_docs {args.check}: every {'path' if args.check == 'paths' else 'flag'} named is there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
