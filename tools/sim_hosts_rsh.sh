#!/usr/bin/env bash
# Open MPI's "ssh" for the simulated hosts of tools/sim_hosts.sh (`--mca plm_rsh_agent`):
# mpirun calls it as `sim_hosts_rsh.sh [options] HOST COMMAND...` to start its daemon (orted) on
# HOST; it runs COMMAND through sh inside that host's network and UTS namespaces, as ssh would on
# a remote machine. HOST is a host's address in the hostfile (or its name, h1, h2, ...).
set -euo pipefail
[ -n "${SIM_HOSTS_DIR:-}" ] || { echo "sim_hosts_rsh: SIM_HOSTS_DIR is not set" >&2; exit 255; }
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done  # ssh options (none are passed today)
host=${1:?sim_hosts_rsh: no host}
shift
entry=$(cat "$SIM_HOSTS_DIR"/names/* | awk -v h="$host" '$1 == h || $3 == h { print; exit }')
[ -n "$entry" ] || { echo "sim_hosts_rsh: unknown simulated host '$host'" >&2; exit 255; }
read -r name ns _ <<<"$entry"
exec nsenter --net="/run/netns/$ns" --uts="$SIM_HOSTS_DIR/uts/$name" -- sh -c "$*"
