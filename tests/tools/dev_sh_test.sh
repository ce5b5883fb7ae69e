#!/usr/bin/env bash
# tools/dev.sh's package step as a user sees it, against stand-ins for dpkg-query, apt-get and
# sudo (no package is installed): it says what it installs, how long that may take and how far
# it is; a failed apt-get shows its last lines and where the whole output is kept.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; echo "--- stderr:" >&2; cat "$work/err" >&2; exit 1; }

mkdir "$work/bin"
# Every package is missing.
printf '#!/bin/sh\nexit 1\n' >"$work/bin/dpkg-query"
printf '#!/bin/sh\nexec "$@"\n' >"$work/bin/sudo"
# apt-get: `update` is quiet; `install` prints what a real one does for 12 packages, or fails
# when FAKE_APT_FAIL is set.
cat >"$work/bin/apt-get" <<'FAKE'
#!/bin/sh
case " $* " in *" update "*) echo "Reading package lists..."; exit 0 ;; esac
echo "Reading package lists..."
echo "0 upgraded, 12 newly installed, 0 to remove and 0 not upgraded."
echo "Need to get 3000 kB of archives."
i=1
while [ $i -le 12 ]; do echo "Get:$i http://deb.debian.org/debian bookworm/main amd64 pkg$i 1.0 [250 kB]"; i=$((i + 1)); done
echo "Fetched 3000 kB in 1s (3000 kB/s)"
echo "debconf: delaying package configuration, since apt-utils is not installed" >&2
if [ -n "${FAKE_APT_FAIL:-}" ]; then
  echo "E: Sub-process /usr/bin/dpkg returned an error code (1)"
  exit 100
fi
i=1
while [ $i -le 12 ]; do echo "Setting up pkg$i (1.0) ..."; i=$((i + 1)); done
FAKE
chmod +x "$work/bin/"*

export PATH="$work/bin:$PATH" TMPDIR="$work"

# bench-peers installs its 10 packages and nothing else.
"$source_dir/tools/dev.sh" bench-peers >"$work/out" 2>"$work/err" || fail "dev.sh bench-peers exited $?"
grep -q "installing 10 packages with apt-get" "$work/err" || fail "does not say how many packages it installs"
grep -q "about 5 minutes on a fresh machine" "$work/err" || fail "does not say how long it may take"
grep -q "12 newly installed" "$work/err" || fail "does not pass on apt-get's count"
grep -q "12 of 12 packages set up" "$work/err" || fail "does not count the packages set up"
grep -q "debconf" "$work/err" && fail "apt-get's noise reaches the terminal"
ls "$work"/trident-apt.*.log >/dev/null 2>&1 && fail "the log of a successful install is left behind"

# A failed install: exit status 1, the error, and the kept log's path.
status=0
FAKE_APT_FAIL=1 "$source_dir/tools/dev.sh" bench-peers >"$work/out" 2>"$work/err" || status=$?
[ "$status" -eq 1 ] || fail "a failed apt-get install exits $status, not 1"
grep -q "dpkg returned an error code" "$work/err" || fail "the failure's last lines are not shown"
log=$(sed -n 's/.*the whole output is in \(.*\)):$/\1/p' "$work/err")
[ -n "$log" ] && [ -f "$log" ] || fail "the failure does not name a log that exists"
grep -q "Setting up\|Get:1 " "$log" || fail "the log does not hold apt-get's output"
echo "passed"
