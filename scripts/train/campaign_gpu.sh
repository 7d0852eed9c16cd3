#!/usr/bin/env bash
# Campaign 1 (docs/training.md): every model of the first results, one queue of jobs per GPU.
#   mem:S    the RAT+ memory model from scratch, seed S (RAT+'s joint dilated D=64 + dense steps)
#   attn:S   the same architecture without the memory, seed S (dense steps, the same batches)
#   attnj:S  the update-matched attention control: attn:S given mem:S's joint dilated-64 + dense updates
#   memL:S   mem:S with the memory's length bounded to L tokens: gate (1 − 1/L)·σ(W_g x) (e.g. mem64:0)
#   olmo2    an OLMo2 attention model from scratch; then the memory added (memory lr 10x) and continued,
#            next to the matched control continued without it (same data, steps, schedule, seed)
#   olmo2-base  that OLMo2 attention model alone (no fine-tuning): the base of the cpt*/cptj* jobs, which
#            wait for it when they run in another queue (e.g. "mem:1 cptj-mem|olmo2-base attn:1 cptj-ctl")
# PLAN lists the queues, '|' between GPUs, jobs run in order inside a queue. The default follows the GPU
# count: 4 GPUs run everything in one lease ("mem:0|mem:1|attn:0 attn:1|olmo2"); 2 GPUs split it over two
# leases, PART=1 "mem:0|attn:0 attn:1" then PART=2 "mem:1|olmo2" (each about 20 minutes on H100s).
# Each model is then fine-tuned on the NIAH train split (1,024-token examples, then 4,096-token ones) and
# checked at once on 10 evaluation samples per task at 4,096 tokens (ratkv on the host's CPUs).
#
# A device call lasts at most 10 minutes and the machine goes back 30 s after a call ends, so:
#   campaign_gpu.sh step SECONDS   the one command of every call: build, tokenize and launch the queues
#                                  (detached, setsid) unless done; follow them for SECONDS at most; then put
#                                  into $OUT every run's metrics and checks plus the next finished models
#                                  (2 a call: 16 MB parts, within the 64 MiB a call returns)
# Repeat the identical call, back to back (no work between calls), until it says "campaign complete".
# If the machine is lost, what was collected stays collected; the next step starts over what was not.
# Unpack returned models with: cat RUN.tar.part* | tar x -C DEST   (gives DEST/final/)
# CPT_BASE=DIR with PLAN="cpt-mem|cpt-ctl" continues an exported attention model (e.g. a collected
# olmo2-base/final) with and without the memory, one GPU each; CHECK=0 skips the in-lease checks.
# cptj-mem / cptj-open / cptj-ctl continue it the same way but with RAT+'s joint dilated-64 + dense updates
# (the recipe that opens the memory from scratch); cptj-open starts the inserted gate at length 64.
# Other subcommands: start | follow SECONDS | collect DIR N [GLOB] | queue K (internal).
# Inputs (carried, git-ignored; scripts/train/carry_data.sh makes them): $CARRY/corpus.jsonl.xz,
# $CARRY/tokenizer.model, $CARRY/niah_{1k,4k}.sft.xz, $CARRY/niah_check.tar.xz; and .gpu-deps (the pcre2
# header the image lacks; scripts/train/gpu_deps.sh makes it). A call carries both: carry [".gpu-deps", "out/carry"].
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
CARRY=${CARRY:-out/carry}
STEPS=${STEPS:-1500}        # pretraining batches of 32 x 4096 tokens (196.6M tokens)
CPT_STEPS=${CPT_STEPS:-400} # continued pretraining (52.4M tokens)
CPTJ_STEPS=${CPTJ_STEPS:-500} # joint (dilated + dense) continued pretraining: 65.5M tokens, 1,000 updates
SFT1K_STEPS=${SFT1K_STEPS:-400} # SFT on 1,024-token examples, batch 64 (25,600 examples: 1.6 epochs)
SFT4K_STEPS=${SFT4K_STEPS:-300} # then on 4,096-token examples, batch 32 (9,600 examples: 1.2 epochs)
WARMUP=100 CPT_WARMUP=20 SFT_WARMUP=25
ARCH=(--layers 8 --hidden 320 --heads 5 --max-pos 4096)
DEVICE=cuda PRE_BATCH=(--batch 32 --micro-batch 16) SFT1K_BATCH=(--batch 64 --micro-batch 32)
SFT4K_BATCH=(--batch 32 --micro-batch 16)
if [[ ${SMOKE:-0} == 1 ]]; then  # the whole flow on the CPU with a tiny model, to check the script
  ARCH=(--layers 1 --hidden 64 --heads 1 --max-pos 4096) STEPS=2 CPT_STEPS=2 CPTJ_STEPS=2 SFT1K_STEPS=2 SFT4K_STEPS=2 DEVICE=cpu
  WARMUP=1 CPT_WARMUP=1 SFT_WARMUP=1
  PRE_BATCH=(--batch 2) SFT1K_BATCH=(--batch 2) SFT4K_BATCH=(--batch 2)
fi
log() { echo "[$(date +%H:%M:%S)] $*"; }

NGPU=$(nvidia-smi -L 2>/dev/null | wc -l || true)
((NGPU > 0)) || NGPU=1
if [[ -z ${PLAN:-} ]]; then
  if ((NGPU >= 4)); then PLAN="mem:0|mem:1|attn:0 attn:1|olmo2"
  elif [[ ${PART:-1} == 2 ]]; then PLAN="mem:1|olmo2"
  else PLAN="mem:0|attn:0 attn:1"; fi
fi
IFS='|' read -r -a QUEUES <<< "$PLAN"
EXPECTED=0  # fine-tuned models the plan makes: one a job, two for olmo2 (cpt-mem and cpt-ctl), none for olmo2-base
base_in_plan=0 needs_base=0
for job in ${PLAN//|/ }; do
  case $job in
    olmo2-base) base_in_plan=1; continue ;;
    olmo2) base_in_plan=1; EXPECTED=$((EXPECTED + 1)) ;;
    cpt-* | cptj-*) needs_base=1 ;;
  esac
  EXPECTED=$((EXPECTED + 1))
done
if ((needs_base && !base_in_plan)) && [[ -z ${CPT_BASE:-} ]]; then
  echo "campaign_gpu.sh: PLAN has continuation jobs but no base: add olmo2-base (or olmo2) to a queue, or set CPT_BASE" >&2
  exit 2
fi

alive_queues() {  # how many of the detached queues still run
  local q pid n=0
  for q in "${!QUEUES[@]}"; do
    pid=$(cat "$WORK/logs/queue$q.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}

pretrain_flags=(--device "$DEVICE" --data "$WORK/shards" --tokenizer "$WORK/tokenizer.model" --seq-len 4096
                "${PRE_BATCH[@]}" --checkpoint-minutes 3 --log-every 20 --quiet)

# stage NAME CMD...: run once (a done marker), resumable inside (checkpoints).
stage() {
  local name=$1
  shift
  [[ -f $WORK/done/$name ]] && return 0
  log "stage $name: $*"
  "$@"
  mkdir -p "$WORK/done" && touch "$WORK/done/$name"
  log "stage $name done"
}

export_model() {  # RUN DTYPE: RUN/model (f32 for chaining) or RUN/final (bf16, shipped)
  local out=$WORK/$1/model
  [[ $2 == bf16 ]] && out=$WORK/$1/final
  "$TRAIN" export --checkpoint "$WORK/$1" --out "$out" --dtype "$2"
  "$TRAIN" plot --metrics "$WORK/$1" --out "$WORK/$1/loss.svg" || true
}

pretrain() {  # RUN FLAGS...
  local run=$1
  shift
  "$TRAIN" pretrain "${pretrain_flags[@]}" --run-dir "$WORK/$run" "$@"
  export_model "$run" f32
  export_model "$run" bf16  # collectable while the fine-tuning runs
}

# The SFT files may arrive with a later device call (they are made while pretraining runs): wait for them.
sft_data() {
  local f
  for f in niah_1k niah_4k; do
    until [[ -f $WORK/$f.sft ]]; do
      if [[ -f $CARRY/$f.sft.xz ]]; then
        xz -dc "$CARRY/$f.sft.xz" > "$WORK/$f.sft.$$" && mv "$WORK/$f.sft.$$" "$WORK/$f.sft"
      else
        sleep 30
      fi
    done
  done
}

sft_chain() {  # BASE_RUN: SFT 1k then 4k, export the result bf16
  local base=$1
  sft_data
  "$TRAIN" sft --device "$DEVICE" --data "$WORK/niah_1k.sft" --tokenizer "$WORK/tokenizer.model" \
    --init-from "$WORK/$base/model" --seq-len 1024 "${SFT1K_BATCH[@]}" --steps "$SFT1K_STEPS" --warmup "$SFT_WARMUP" \
    --lr 5e-4 --min-lr 5e-5 --log-every 10 --checkpoint-minutes 3 --quiet --run-dir "$WORK/$base-sft1k"
  export_model "$base-sft1k" f32
  "$TRAIN" sft --device "$DEVICE" --data "$WORK/niah_4k.sft" --tokenizer "$WORK/tokenizer.model" \
    --init-from "$WORK/$base-sft1k/model" --seq-len 4096 "${SFT4K_BATCH[@]}" --steps "$SFT4K_STEPS" \
    --warmup "$SFT_WARMUP" --lr 2e-4 --min-lr 2e-5 --log-every 10 --checkpoint-minutes 3 --quiet --run-dir "$WORK/$base-sft"
  export_model "$base-sft" bf16
  [[ ${CHECK:-1} == 0 ]] || check "$base-sft"
}

# Dense NIAH on the first 10 evaluation samples of each task at 4,096 tokens, on the host's CPUs while the
# GPUs go on: the early answer to "did retrieval emerge?", kept with the run's metrics.
check() {
  [[ -d $WORK/niah_check ]] || { mkdir -p "$WORK/niah_check.$$" && tar xJf "$CARRY/niah_check.tar.xz" -C "$WORK/niah_check.$$" &&
    mv "$WORK/niah_check.$$" "$WORK/niah_check"; } || true
  local tasks samples
  tasks=$(ls "$WORK/niah_check" | paste -sd, -)
  samples=$(wc -l < "$WORK/niah_check/${tasks%%,*}/validation.jsonl")
  "$RATKV" niah --data "$WORK/niah_check" --tasks "$tasks" --samples "$samples" --models "$1=$WORK/$1/final" --sparse dense --lengths 4096 \
    --out "$WORK/$1/check" --no-progress -t "${CHECK_THREADS:-12}" > "$WORK/$1/check.log" 2>&1 || true
  "$RATKV" report "$WORK/$1/check" >> "$WORK/$1/check.log" 2>&1 || true
}

# The continuation jobs start from $CPT_BASE or, without it, from this campaign's olmo2-base, which another
# queue may still be training: wait for it (the step's follow/collect go on meanwhile).
cpt_base() {
  if [[ -n ${CPT_BASE:-} ]]; then echo "$CPT_BASE"; return; fi
  [[ -f $WORK/done/olmo2-base ]] || log "waiting for olmo2-base" >&2
  until [[ -f $WORK/done/olmo2-base ]]; do sleep 20; done
  echo "$WORK/olmo2-base/model"
}

# One job of a queue: pretraining, then fine-tuning at once (so each model can be collected early).
run_job() {
  local s=${1#*:}
  case $1 in
    mem:* | mem[0-9]*:*)  # memL:S: the same run with every channel's memory length 1/(1 − g) bounded by L
      local len=${1%%:*} bound=()
      len=${len#mem}
      [[ -z $len ]] || bound=(--memory-max-length "$len")
      stage "mem$len-s$s" pretrain "mem$len-s$s" --family ratplus --memory "${bound[@]}" "${ARCH[@]}" --seed "$s" \
        --steps "$STEPS" --warmup "$WARMUP" --lr 1e-3 --min-lr 1e-4 --joint-dilated 64
      stage "mem$len-s$s-sft" sft_chain "mem$len-s$s" ;;
    attnj:*)  # the same updates as mem:S (two per batch), without the memory
      stage "attnj-s$s" pretrain "attnj-s$s" --family ratplus --no-memory "${ARCH[@]}" --seed "$s" --steps "$STEPS" \
        --warmup "$WARMUP" --lr 1e-3 --min-lr 1e-4 --joint-dilated 64
      stage "attnj-s$s-sft" sft_chain "attnj-s$s" ;;
    attn:*)
      stage "attn-s$s" pretrain "attn-s$s" --family ratplus --no-memory "${ARCH[@]}" --seed "$s" --steps "$STEPS" \
        --warmup "$WARMUP" --lr 1e-3 --min-lr 1e-4
      stage "attn-s$s-sft" sft_chain "attn-s$s" ;;
    olmo2-base)
      stage olmo2-base pretrain olmo2-base --family olmo2 "${ARCH[@]}" --seed 0 --steps "$STEPS" --warmup "$WARMUP" \
        --lr 1e-3 --min-lr 1e-4 ;;
    olmo2)
      run_job olmo2-base
      run_job cpt-mem
      run_job cpt-ctl ;;
    cpt-mem | cpt-ctl)  # from $CPT_BASE (default: the olmo2-base job's), both from the same weights
      local base
      base=$(cpt_base)
      local cpt=(--init-from "$base" --seed 0 --steps "$CPT_STEPS" --warmup "$CPT_WARMUP"
                 --lr 3e-4 --min-lr 3e-5)
      [[ $1 == cpt-mem ]] && cpt+=(--add-memory --memory-lr-mult 10)
      stage "$1" pretrain "$1" "${cpt[@]}"
      stage "$1-sft" sft_chain "$1" ;;
    cptj-mem | cptj-open | cptj-ctl)  # the same continuation with RAT+'s joint dilated-64 + dense updates
      local base
      base=$(cpt_base)
      local cptj=(--init-from "$base" --seed 0 --steps "$CPTJ_STEPS"
                  --warmup "$CPT_WARMUP" --lr 3e-4 --min-lr 3e-5 --joint-dilated 64)
      [[ $1 == cptj-mem ]] && cptj+=(--add-memory --memory-lr-mult 10)
      # cptj-open: the gate starts at g = 63/64 (memory length 64, the seed paper's effective length)
      # instead of the near-identity g = sigmoid(-6), so the insertion is not function-preserving
      [[ $1 == cptj-open ]] && cptj+=(--add-memory --memory-lr-mult 10 --memory-init-bias 4.143)
      stage "$1" pretrain "$1" "${cptj[@]}"
      stage "$1-sft" sft_chain "$1" ;;
    *) echo "campaign_gpu.sh: unknown job '$1' in PLAN (mem:S, memL:S, attn:S, attnj:S, olmo2, olmo2-base, cpt-mem, cpt-ctl, cptj-mem, cptj-open or cptj-ctl)" >&2
       return 2 ;;
  esac
}

run_queue() {
  local job
  for job in ${QUEUES[$1]}; do run_job "$job"; done
}

case ${1:-} in
  start)
    mkdir -p "$WORK/logs"
    if [[ ! -x $TRAIN || ! -x $DATA ]]; then
      log build
      export CMAKE_INCLUDE_PATH=$PWD/.gpu-deps/root/usr/include
      generator=()
      command -v ninja >/dev/null && generator=(-G Ninja)
      cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRATKV_TRAIN=ON -DRATKV_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$TORCH_DIR/share/cmake" -DCMAKE_CUDA_COMPILER="${NVCC:-/usr/local/cuda/bin/nvcc}" \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 -DCUDAToolkit_ROOT="${CUDA_HOME:-/usr/local/cuda}" \
        > "$WORK/logs/cmake.log"
      cmake --build "$BUILD" -j"$(nproc)" --target ratkv ratkv-train ratkv-train-data > "$WORK/logs/build.log"
    fi
    cp "$CARRY/tokenizer.model" "$WORK/tokenizer.model"
    if [[ ! -d $WORK/shards ]]; then
      log tokenize
      xz -dc "$CARRY/corpus.jsonl.xz" > "$WORK/corpus.jsonl"
      "$DATA" shards --corpus "$WORK/corpus.jsonl" --tokenizer "$WORK/tokenizer.model" --out "$WORK/shards"
    fi
    for q in "${!QUEUES[@]}"; do
      if [[ -f $WORK/logs/queue$q.pid ]] && kill -0 "$(cat "$WORK/logs/queue$q.pid")" 2>/dev/null; then continue; fi
      CUDA_VISIBLE_DEVICES=$q setsid nohup bash "$0" queue "$q" >> "$WORK/logs/queue$q.log" 2>&1 < /dev/null &
      echo $! > "$WORK/logs/queue$q.pid"
    done
    log "queues started" ;;
  queue) run_queue "$2" ;;
  follow)
    deadline=${FOLLOW_DEADLINE:-$(($(date +%s) + ${2:-540}))}
    while :; do
      alive=$(alive_queues)
      ((alive == 0 || $(date +%s) >= deadline)) && break
      sleep 20
    done
    log "$alive queues running"
    for q in "${!QUEUES[@]}"; do echo "-- queue $q (${QUEUES[$q]})"; tail -n 3 "$WORK/logs/queue$q.log"; done
    for m in "$WORK"/*/metrics.jsonl; do
      [[ -f $m ]] || continue
      echo "$(basename "$(dirname "$m")"): $(tail -n 1 "$m" | cut -c1-300)"; done ;;
  collect)
    dir=$2 n=${3:-1} k=0
    mkdir -p "$dir" "$WORK/collected"
    (cd "$WORK" && tar czf "$dir/metrics.tgz" --ignore-failed-read ./*/metrics.jsonl ./*/loss.svg ./*/check.log \
      ./*/check/results.jsonl ./*/check/report/summary.md ./*/final/config.json logs done 2> /dev/null) || true
    for final in "$WORK"/${4:-*}/final; do
      [[ -d $final ]] || continue
      run=$(basename "$(dirname "$final")")
      [[ -f $WORK/collected/$run || $k -ge $n ]] && continue
      tar cf - -C "$WORK/$run" final | split -b 16000000 -d - "$dir/$run.tar.part"
      touch "$WORK/collected/$run"
      k=$((k + 1))
      log "collected $run"
    done ;;
  step)
    t0=$(date +%s)
    alive=$(alive_queues)
    finished=$(ls "$WORK/done" 2>/dev/null | grep -c -- '-sft$' || true)
    # (Re)start unless every queue runs or all is done: a queue that died is relaunched, the live ones are
    # left alone (start skips them) and finished stages are skipped (done markers).
    ((alive == ${#QUEUES[@]} || finished >= EXPECTED)) || bash "$0" start
    FOLLOW_DEADLINE=$((t0 + ${2:-540})) bash "$0" follow
    if [[ -n ${OUT:-} ]]; then
      bash "$0" collect "$OUT" 2 '*-sft'
      bash "$0" collect "$OUT" $((2 - $(ls "$OUT" | grep -c 'part00' || true))) '*'
    fi
    left=0
    for f in "$WORK"/*/final; do
      [[ -d $f && ! -f $WORK/collected/$(basename "$(dirname "$f")") ]] && left=$((left + 1))
    done
    finished=$(ls "$WORK/done" 2>/dev/null | grep -c -- '-sft$' || true)
    for c in "$WORK"/*/check/report/summary.md; do
      [[ -f $c ]] && { echo "== $c"; grep -m2 -E '^\| dense' "$c" || true; }
    done
    if ((finished >= EXPECTED && left == 0)); then log "campaign complete ($PLAN)"
    else log "$finished of $EXPECTED fine-tuned ($PLAN); $left models to collect"; fi ;;
  *) echo "usage: campaign_gpu.sh step SECONDS | start | follow SECONDS | collect DIR N [GLOB]" >&2; exit 2 ;;
esac
