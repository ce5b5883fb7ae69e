#!/usr/bin/env bash
# Simulated machines for the cluster layer: three "hosts" and a "head" in their own network and
# UTS namespaces, joined by a bridge in a "switch" namespace, so that MPI ranks talk over TCP
# between network stacks (as on separate machines) and Open MPI, seeing different host names,
# does not take them for neighbours (no shared memory between them). Nothing is visible outside:
# the addresses exist only inside the namespaces.
#
#   tools/sim_hosts.sh check              exit 0 if namespaces can be made here; else print why
#                                         and exit 77 (the tests' "skipped" status)
#   tools/sim_hosts.sh run [-H N] -- CMD  set up N hosts (default 3), run CMD (in this namespace)
#                                         with the environment below, tear everything down (also
#                                         on failure or interruption) and exit with CMD's status
#
# CMD sees:
#   SIM_HOSTS_DIR     the state folder (hostfile, one UTS namespace file per host)
#   SIM_HOSTS_MPIRUN  the launch prefix: mpirun in the head's namespaces, with a hostfile of the
#                     head (1 slot: rank 0, the driver) and each host (1 slot), started on the
#                     hosts through tools/sim_hosts_rsh.sh instead of ssh, TCP only, pinned to the
#                     simulated subnet. Append `-np N program args`.
#   SIM_HOSTS_SCRIPT  this script, for the commands below (they read SIM_HOSTS_DIR):
#     $SIM_HOSTS_SCRIPT link down|up hN   cut (or restore) host N's cable, from the switch's side
#     $SIM_HOSTS_SCRIPT pids [hN|all]     every process in the host's (or any simulated)
#                                         namespace, one "namespace pid command" line each
#     $SIM_HOSTS_SCRIPT exec hN CMD...    runs CMD inside host N (network and UTS namespaces)
#
# Layout: switch namespace with bridge "br0"; host N (h1..hN) has "eth0" = 10.77.0.(10+N)/24,
# the head "eth0" = 10.77.0.10/24; the switch end of each cable is named after its host. The
# namespaces are `ip netns` ones named trident-sim-<pid>-<name>; UTS namespaces are bind-mounted
# under the state folder. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN), ip, nsenter, unshare.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
subnet=10.77.0
prefix_len=24

die() {
  echo "sim_hosts: $*" >&2
  exit 1
}

# Whether namespaces, a bridge and veth pairs can be made here; prints the reason when not.
check() {
  local tool
  for tool in ip nsenter unshare mpirun; do
    command -v "$tool" >/dev/null 2>&1 || { echo "sim_hosts: '$tool' is not installed"; return 77; }
  done
  if [ "$(id -u)" -ne 0 ]; then
    echo "sim_hosts: not root (network namespaces, bridges and veth pairs need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    return 77
  fi
  local out
  if ! out=$(unshare --net --uts sh -c 'ip link add sim-probe-a type veth peer name sim-probe-b &&
                                         ip link add sim-probe-br type bridge && hostname sim-probe' 2>&1); then
    echo "sim_hosts: cannot make a network namespace with a veth pair and a bridge here: ${out//$'\n'/ }"
    return 77
  fi
  local probe="trident-sim-probe-$$"
  if ! out=$(ip netns add "$probe" 2>&1); then
    echo "sim_hosts: 'ip netns add' fails here: ${out//$'\n'/ }"
    return 77
  fi
  ip netns del "$probe"
  return 0
}

ns_name() { echo "trident-sim-${SIM_HOSTS_ID:?}-$1"; }

# Every PID whose network namespace is one of ours (optionally only host $1's).
pids_in() {
  local which=${1:-all} f ns
  for f in "$SIM_HOSTS_DIR"/names/*; do
    [ -e "$f" ] || continue
    local name
    name=$(basename "$f")
    [ "$which" = all ] || [ "$which" = "$name" ] || continue
    ns=$(ns_name "$name")
    local pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      echo "$name $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
    done
  done
}

up() {
  local hosts=$1
  mkdir -p "$SIM_HOSTS_DIR"/names "$SIM_HOSTS_DIR"/uts
  local sw
  sw=$(ns_name switch)
  ip netns add "$sw"
  touch "$SIM_HOSTS_DIR/names/switch"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  local hostfile="$SIM_HOSTS_DIR/hostfile"
  : >"$hostfile"
  local k name ns address
  for k in $(seq 0 "$hosts"); do
    if [ "$k" -eq 0 ]; then name="head"; else name="h$k"; fi
    ns=$(ns_name "$name")
    address="$subnet.$((10 + k))"
    ip netns add "$ns"
    touch "$SIM_HOSTS_DIR/names/$name"
    ip -n "$ns" link set lo up
    # The cable: "eth0" in the host, "<name>" on the switch's bridge.
    ip -n "$sw" link add "$name" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "$name" master br0 up
    ip -n "$ns" addr add "$address/$prefix_len" dev eth0
    ip -n "$ns" link set eth0 up
    # TCP gives up on an unanswered send after 3 retransmissions (about 3 s) instead of the
    # default 15 (about 15 minutes): otherwise mpirun, and the daemon of a host whose cable was
    # cut, each wait that long for the other once one has something to send.
    nsenter --net="/run/netns/$ns" sh -c 'echo 3 >/proc/sys/net/ipv4/tcp_retries2'
    # Its own host name, in its own UTS namespace (kept by a bind mount).
    touch "$SIM_HOSTS_DIR/uts/$name"
    unshare --uts="$SIM_HOSTS_DIR/uts/$name" hostname "sim-$name"
    echo "$name $ns $address" >"$SIM_HOSTS_DIR/names/$name"
    # The hostfile names hosts by address: there is no resolver for the simulated names.
    echo "$address slots=1" >>"$hostfile"
  done
  # Each cable is usable once both ends have carrier and the bridge forwards on the switch's end.
  local tries=0
  while ip -n "$sw" -o link show master br0 | grep -qv "LOWER_UP" ||
    bridge -n "$sw" link show | grep -qv "state forwarding"; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || die "the simulated cables did not come up"
    sleep 0.1
  done
}

# Kills every process in our namespaces, then removes them; safe to run twice, or half set up.
down() {
  [ -n "${SIM_HOSTS_DIR:-}" ] && [ -d "$SIM_HOSTS_DIR" ] || return 0
  local pids
  for _ in $(seq 1 50); do
    pids=$(pids_in all | awk '{print $2}')
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086  # a list of PIDs
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  local f name
  for f in "$SIM_HOSTS_DIR"/names/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    ip netns del "$(ns_name "$name")" 2>/dev/null || true
  done
  for f in "$SIM_HOSTS_DIR"/uts/*; do
    [ -e "$f" ] || continue
    umount "$f" 2>/dev/null || true
  done
  rm -rf "$SIM_HOSTS_DIR"
}

mpirun_prefix() {
  local head_ns
  head_ns=$(ns_name head)
  local as_root=""
  [ "$(id -u)" -eq 0 ] && as_root=" --allow-run-as-root"
  # --mca plm_rsh_no_tree_spawn: every daemon is started from the head (by default a host's
  # daemon would start others, and a cut host would take them with it). The keepalives let
  # mpirun and a cut host's daemon (orted) find out in about 3 s that the other is gone; with
  # Open MPI's defaults (300 s, then 9 probes 20 s apart) mpirun waits for a cut host's daemon
  # long after the job ended, and the daemon outlives it.
  echo "nsenter --net=/run/netns/$head_ns --uts=$SIM_HOSTS_DIR/uts/head -- mpirun$as_root" \
    "--hostfile $SIM_HOSTS_DIR/hostfile --map-by node" \
    "--mca plm_rsh_agent $here/sim_hosts_rsh.sh --mca plm_rsh_no_tree_spawn 1" \
    "--mca btl tcp,self --mca btl_tcp_if_include $subnet.0/$prefix_len" \
    "--mca oob_tcp_if_include $subnet.0/$prefix_len" \
    "--mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 2" \
    "-x SIM_HOSTS_DIR"
}

run() {
  local hosts=3
  while [ $# -gt 0 ]; do
    case "$1" in
      -H) hosts=$2; shift 2 ;;
      --) shift; break ;;
      *) die "unknown option '$1' (usage: sim_hosts.sh run [-H N] -- command...)" ;;
    esac
  done
  [ $# -gt 0 ] || die "no command (usage: sim_hosts.sh run [-H N] -- command...)"
  local reason
  if ! reason=$(check); then
    echo "$reason" >&2
    exit 77
  fi
  export SIM_HOSTS_ID=$$
  SIM_HOSTS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/trident-sim-hosts.XXXXXX")
  export SIM_HOSTS_DIR
  trap 'down' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  echo "$SIM_HOSTS_ID" >"$SIM_HOSTS_DIR/id"
  echo "sim_hosts: namespaces trident-sim-$SIM_HOSTS_ID-{switch,head,h1..h$hosts}, state in $SIM_HOSTS_DIR" >&2
  up "$hosts"
  SIM_HOSTS_MPIRUN=$(mpirun_prefix)
  export SIM_HOSTS_MPIRUN SIM_HOSTS_SCRIPT="$self"
  local status=0
  "$@" || status=$?
  exit "$status"
}

# The commands a running CMD uses: they find the namespaces through SIM_HOSTS_DIR.
load_state() {
  if [ -z "${SIM_HOSTS_DIR:-}" ] || [ ! -f "$SIM_HOSTS_DIR/id" ]; then
    die "SIM_HOSTS_DIR is not set (run under 'sim_hosts.sh run')"
  fi
  SIM_HOSTS_ID=$(cat "$SIM_HOSTS_DIR/id")
}

case "${1:-}" in
  check) check ;;
  run) shift; run "$@" ;;
  link)
    load_state
    if [ $# -ne 3 ] || [ ! -f "$SIM_HOSTS_DIR/names/$3" ]; then die "usage: sim_hosts.sh link down|up hN"; fi
    ip -n "$(ns_name switch)" link set "$3" "$2"
    ;;
  pids)
    load_state
    pids_in "${2:-all}"
    ;;
  exec)
    load_state
    if [ $# -lt 3 ] || [ ! -f "$SIM_HOSTS_DIR/names/$2" ]; then die "usage: sim_hosts.sh exec hN command..."; fi
    name=$2
    shift 2
    exec nsenter --net="/run/netns/$(ns_name "$name")" --uts="$SIM_HOSTS_DIR/uts/$name" -- "$@"
    ;;
  *)
    sed -n '2,31p' "$self" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
