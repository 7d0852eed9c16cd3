#!/usr/bin/env bash
# The seed grid on the GPU host's idle CPU cores while a campaign trains (docs/results.md, "Where it ran").
#   device_grid.sh SECONDS     run until SECONDS from now, then put every grid's rows into $OUT/grids.tgz
# Runs inside the same device call as `campaign_gpu.sh step`, started beside it, or alone after a build
# with GRID_STANDALONE=1 (every core then):
#   (PART=2 bash scripts/train/campaign_gpu.sh step 540 > out/step.log 2>&1) &
#   bash scripts/train/device_grid.sh 530; wait; cat out/step.log
# Models graded: each NAME=DIR of GRID_MODELS (carried model directories, or NAME=xz:FILE for a carried
# `tar cJ final` of one), and every fine-tuned model of the campaign once its in-lease check is done
# ($WORK/done/RUN-sft; named by GRID_NAMES, e.g. "mem-s1-sft=mem1"). Evaluation prompts: the carried
# $CARRY/niah_eval.tar.xz (the first 100 evaluation samples per task at 4,096 tokens, as the seed grid), or
# GRID_EVAL=FILE (e.g. the 500 samples per task of scripts/train/carry_data.sh's out/sft/eval, as a tar.xz).
# Order: all 8 tasks at 25 samples first, then S-1..S-3 to 100 (the seed grid's counts); GRID_SPECS="TASKS:N
# ..." replaces it (e.g. "all:100 all:200 all:300 all:400 all:500"). Level by level: every ready model
# reaches one spec before any goes on to the next, so the models of a pair stay paired when the deadline
# cuts (a model that is ready before its partner runs ahead until the partner is ready and catches up).
# A spec whose run fails (not the deadline) is logged and not retried in this call.
# GRID_SEED=FILE.jsonl.xz puts rows already made (a committed grid) into each grid directory first, so only
# the missing cells run.
# Rows already in out/grid-NAME are skipped (ratkv niah resumes by cell key), so a warm machine's next call
# goes on where this one stopped; grids.tgz holds every row so far, whatever happens to the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
CARRY=${CARRY:-out/carry}
deadline=$(($(date +%s) + ${1:?usage: device_grid.sh SECONDS}))
procs=${GRID_PROCS:-$(($(nproc) - 6))}
log() { echo "[$(date +%H:%M:%S)] grid: $*"; }
left() { echo $((deadline - $(date +%s))); }

# The campaign's start builds ratkv; wait for its queues to be launched (the build is done then).
# GRID_STANDALONE=1: no campaign in this call (ratkv built beforehand, e.g. by build_gpu.sh); all cores.
if [[ ${GRID_STANDALONE:-0} == 1 ]]; then
  [[ -x $RATKV ]] || { log "no $RATKV: build first (scripts/train/build_gpu.sh)"; exit 1; }
  procs=${GRID_PROCS:-$(nproc)}
fi
until [[ ( ${GRID_STANDALONE:-0} == 1 || -f $WORK/logs/queue0.pid ) && -x $RATKV ]]; do
  (($(left) > 30)) || { log "no build before the deadline"; exit 0; }
  sleep 5
done
eval_dir=out/niah_eval$([[ -n ${GRID_EVAL:-} ]] && echo -custom)
if [[ ! -d $eval_dir ]]; then
  mkdir -p "$eval_dir.$$" && tar xJf "${GRID_EVAL:-$CARRY/niah_eval.tar.xz}" -C "$eval_dir.$$" && mv "$eval_dir.$$" "$eval_dir"
fi
seed_counts="all:25 niah_single_1,niah_single_2,niah_single_3:100"

specs=${GRID_SPECS:-$seed_counts}

grid_one() {  # NAME DIR SPEC [SEED_ROWS]: one spec of the seed grid on one model, within the deadline
  local name=$1 dir=$2 spec=$3 seed_rows=${4:-}
  if [[ -n $seed_rows && ! -f out/grid-$name/results.jsonl ]]; then
    mkdir -p "out/grid-$name" && xz -dc "$seed_rows" > "out/grid-$name/seed.$$" &&
      mv "out/grid-$name/seed.$$" "out/grid-$name/results.jsonl"
  fi
  log "$name ${spec%%:*} x ${spec##*:} ($(left) s left)"
  local rc=0
  SECONDS_LIMIT=$(left) RATKV=$RATKV nice -n 10 bash scripts/niah_parallel.sh "$procs" --preset seed \
    --data "$eval_dir" --models "$name=$dir" --tasks "${spec%%:*}" --samples "${spec##*:}" \
    --out "out/grid-$name" > "out/grid-$name.log" 2>&1 || rc=$?
  tail -n 2 "out/grid-$name.log"
  return "$rc"
}

# Every model as NAME=DIR, or NAME=@RUN for a fine-tuned model of the campaign (ready once its check has run).
models=()
for m in ${GRID_MODELS:-}; do
  name=${m%%=*} dir=${m#*=}
  if [[ $dir == xz:* ]]; then
    [[ -d out/models/$name/final ]] || { mkdir -p "out/models/$name" && tar xJf "${dir#xz:}" -C "out/models/$name"; }
    dir=out/models/$name/final
  fi
  models+=("$name=$dir")
done
for pair in ${GRID_NAMES:-}; do models+=("${pair#*=}=@${pair%%=*}"); done

# The first (spec, model) not yet done whose model is ready; a marker records each finished one.
declare -A failed=()
while (($(left) > 20)); do
  pending=0 ran=0
  for spec in $specs; do
    for m in "${models[@]}"; do
      name=${m%%=*} dir=${m#*=} seed_rows=${GRID_SEED:-}
      marker=out/grid-$name.done-${spec//[:,]/_}
      [[ -f $marker || -n ${failed[$marker]:-} ]] && continue
      if [[ $dir == @* ]]; then
        run=${dir#@}
        if [[ ! -f $WORK/done/$run || ! -d $WORK/$run/final ]]; then pending=$((pending + 1)); continue; fi
        dir=$WORK/$run/final seed_rows=''
      fi
      rc=0
      grid_one "$name" "$dir" "$spec" "$seed_rows" || rc=$?
      if (($(left) > 20)); then  # not cut by the deadline: finished, or failed
        if ((rc == 0)); then touch "$marker"; else failed[$marker]=1; log "$name $spec failed (exit $rc)"; fi
      fi
      ran=1
      break 2
    done
  done
  ((ran == 1)) && continue
  ((pending > 0)) || break
  sleep 15
done
if [[ -n ${OUT:-} ]]; then
  tar czf "$OUT/grids.tgz" --ignore-failed-read out/grid-*/results*.jsonl out/grid-*.log 2> /dev/null || true
fi
log "done"
