#!/usr/bin/env bash
# One case of the simulated-hosts tests (sim_hosts_test.cpp), run under `tools/sim_hosts.sh run`:
# launches PROGRAM on the head (rank 0, the driver) and the three hosts (ranks 1-3), optionally
# takes host h2 away mid-map, and prints what the test checks, after the job's own output:
#
#   sim: reported after S s          when the driver's "was lost" line appeared, after the fault
#   sim: mpirun exit status N
#   sim: driver exit status N        what the driver wrote to TRIDENT_CLUSTER_STATUS_FILE
#   sim: processes left: none        or the processes still in any simulated namespace, 10 s on
#
# usage: sim_hosts_case.sh none|link|kill [--enable-recovery] -- PROGRAM ARGS...
#   link: h2's cable goes down (from the switch's side); kill: SIGKILL to h2's MPI rank (its
#   worker processes die with it). The fault comes 0.8 s after the program prints "map: started".
set -uo pipefail
fault=$1
shift
launch=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do launch+=("$1"); shift; done
shift
timeout_ms=${TRIDENT_CLUSTER_TIMEOUT_MS:-2000}
log="$SIM_HOSTS_DIR/job.log"
status_file="$SIM_HOSTS_DIR/driver.status"
# shellcheck disable=SC2086  # SIM_HOSTS_MPIRUN is a command line
timeout -k 3 45 $SIM_HOSTS_MPIRUN "${launch[@]}" -x TRIDENT_CLUSTER_TIMEOUT_MS="$timeout_ms" \
  -x TRIDENT_CLUSTER_STATUS_FILE="$status_file" -np 4 "$@" >"$log" 2>&1 &
job=$!
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }'; }
if [ "$fault" != none ]; then
  for _ in $(seq 300); do
    grep -q "map: started" "$log" && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.8
  # The time of the fault is taken once it took effect (finding the rank's PID first, which on
  # a loaded machine takes a while).
  case "$fault" in
    link)
      "$SIM_HOSTS_SCRIPT" link down h2
      t0=$(now)
      ;;
    kill)
      # The rank: the program's process in h2 that is not one of its worker processes.
      ranks=$("$SIM_HOSTS_SCRIPT" pids h2 | awk -v p="$1" '$3 == p && $0 !~ /--trident-worker/ { print $2 }')
      # shellcheck disable=SC2086  # a list of PIDs
      [ -n "$ranks" ] && kill -KILL $ranks
      t0=$(now)
      echo "sim: killed rank process(es) ${ranks:-(none found)} on h2" >>"$SIM_HOSTS_DIR/notes"
      ;;
  esac
  reported=""
  while kill -0 "$job" 2>/dev/null; do
    if [ -z "$reported" ] && grep -q "was lost" "$log"; then
      reported=$(elapsed)
    fi
    sleep 0.05
  done
  [ -n "$reported" ] || { grep -q "was lost" "$log" && reported=$(elapsed); }
fi
wait "$job"
status=$?
cat "$log"
[ -f "$SIM_HOSTS_DIR/notes" ] && cat "$SIM_HOSTS_DIR/notes"
[ "$fault" = none ] || echo "sim: reported after ${reported:-never} s"
echo "sim: mpirun exit status $status"
[ -f "$status_file" ] && echo "sim: driver exit status $(cat "$status_file")"
left=""
for _ in $(seq 100); do
  left=$("$SIM_HOSTS_SCRIPT" pids all)
  [ -n "$left" ] || break
  sleep 0.1
done
if [ -z "$left" ]; then
  echo "sim: processes left: none"
else
  echo "sim: processes left:"
  echo "$left"
fi
