#!/usr/bin/env bash
# One `ratkv niah` grid spread over a machine's cores as PROCS single-threaded shard processes (no
# threading overhead; the shards own disjoint (task, sample) units), then merged into DIR/results.jsonl.
#   scripts/niah_parallel.sh PROCS NIAH_ARGS...     NIAH_ARGS must hold --out DIR
# SECONDS_LIMIT stops the shards after that many seconds: every finished cell is kept, and running the same
# command again resumes where they stopped (ratkv niah skips the cells already in DIR). RATKV names the
# binary (default build/ratkv). Exits nonzero if a shard failed for any reason other than the time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
RATKV=${RATKV:-build/ratkv}
procs=${1:?usage: niah_parallel.sh PROCS NIAH_ARGS... (with --out DIR)}
shift
[[ $procs =~ ^[1-9][0-9]*$ ]] || { echo "niah_parallel.sh: PROCS must be a positive integer, got '$procs'" >&2; exit 2; }
out=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == --out ]] && out=${args[i + 1]:-}; done
[[ -n $out ]] || { echo "niah_parallel.sh: give --out DIR among the ratkv niah arguments" >&2; exit 2; }
mkdir -p "$out"

limit=()
[[ -n ${SECONDS_LIMIT:-} ]] && limit=(timeout "$SECONDS_LIMIT")
pids=()
for ((i = 0; i < procs; i++)); do
  "${limit[@]}" "$RATKV" niah "$@" --shard "$i/$procs" -t 1 --no-progress > "$out/shard-$i.log" 2>&1 &
  pids+=($!)
done
failed=0 stopped=0
for i in "${!pids[@]}"; do
  rc=0
  wait "${pids[$i]}" || rc=$?
  if ((rc == 124)); then stopped=$((stopped + 1))
  elif ((rc != 0)); then failed=$((failed + 1)); echo "shard $i/$procs failed (exit $rc):" >&2; tail -n 3 "$out/shard-$i.log" >&2
  fi
done
"$RATKV" niah "$@" --merge
((stopped == 0)) || echo "$stopped of $procs shards stopped at the ${SECONDS_LIMIT}-second limit: run again to resume"
((failed == 0))
