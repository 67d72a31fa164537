#!/usr/bin/env bash
# Issue 27's single device call (issue 8's, extended): calibrate, train, evaluate, train the SAEs on
# many more tokens than the CPU can, time the app, and bring it all back in at most 8 files under 16 MiB.
#   0. calibration (bench/calibrate_training.py): the fastest batch size and torch.compile mode, and
#      whether the generator keeps up; BATCH/COMPILE_MODE given here skip the choice;
#   1. train from INIT (or from scratch) for MINUTES with the chosen setting; the learning rate is LR at
#      batch 512, scaled by sqrt(batch / 512); held-out evaluations every ~1M games; 10k games at the end;
#   2. the weights back in shards under 16 MiB;
#   3. the SAE of the better model (the new weights or INIT: their 10k-game evaluations decide) on
#      SAE_GAMES fresh games, then the random-init control's with the same recipe (for a fair control);
#   4. GPU figures (bench/bench_gpu.py): training MFU, forward, real games, the app's work per position;
#   5. OUT: the shards (4), run_meta.tgz (config, metrics, calibration, GPU figures), log.txt, sae.tgz,
#      sae_control.tgz.
# Every stage after training runs under the call's deadline (DEADLINE_S from the start): the call ends
# inside the device's 10 minutes with what finished, and says what it skipped. The plan, in seconds:
# wheels 5, calibration <= 110, training MINUTES (at most 4, fewer when calibration ran long: RESERVE_S
# is kept for what follows) + compile, evaluations and export ~ 60, SAE ~ 80, GPU figures ~ 45, control
# SAE ~ 80.
#   device run:  bash scripts/gpu_train.sh     (carry .whl: the app's analysis and the SAEs need
#                TransformerLens and SAELens, from the wheels scripts/fetch_device_wheels.sh fetches)
# Before the device call, on the CPU (no device time): bash scripts/gpu_preflight.sh (the travelling size,
# then this script end to end at tiny scale). After: bash scripts/unpack_gpu_run.sh FILES_AT RUN, then
# SAE_FROM=RUN scripts/refresh_bundled.sh RUN (or only the SAE's steps when INIT stayed the better).
# INIT (default assets/models/bundled) continues from those weights (fresh optimizer): a run's checkpoint.pt
# (weights + AdamW state, ~300 MB) cannot come back from the device.
# Runs (bench/RESULTS.md): an H100 on 2026-11-26, 22.4k games/s, 20.6% MFU; an H200 on 2026-11-27 with
# INIT=assets/models/bundled LR=3e-4 MINUTES=7, 22.4k games/s, 9.46M games, 99.923% legal top-1 (522 s).
set -uo pipefail
export PYTHONUNBUFFERED=1
T0=$(date +%s)
OUT=${OUT:-runs/gpu-out}
RUN=${RUN:-runs/paper-gpu}
DEADLINE_S=${DEADLINE_S:-570}  # the whole call; the device stops a command at 600 s
MINUTES=${MINUTES:-4}          # at most this training wall time after compilation (the plan: see the header)
RESERVE_S=${RESERVE_S:-270}    # kept after training: compile, evaluations, export, SAEs, GPU figures
INIT=${INIT-assets/models/bundled}   # weights to start from (a run folder); INIT= : random init
LR=${LR:-$([ -n "$INIT" ] && echo 3e-4 || echo 1e-3)}  # at batch 512
WORKERS=${WORKERS:-14}         # generator processes (~8k labelled games/s each) for 16 cores
SHAPE=${SHAPE:-}               # empty: the paper's shape (8 layers, d_model 512, 8 heads)
CALIBRATE=${CALIBRATE:-1}
CAL_ARGS=${CAL_ARGS:---budget-s 60}  # no new setting after 60 s; e.g. "--settings default:16" for the dry run
CAL_CAP_S=${CAL_CAP_S:-110}    # the calibration is stopped here whatever it is doing
EVAL_GAMES_EVERY=${EVAL_GAMES_EVERY:-1000000}
FINAL_EVAL=${FINAL_EVAL:-10000}
SAE_GAMES=${SAE_GAMES:-120000}  # 7.1M tokens, 10x the CPU run (12,000 games, 0.71M tokens)
SAE_ARGS=${SAE_ARGS:---epochs 2 --batch-size 4096 --collect-batch 512}
mkdir -p "$OUT" "$RUN"
LOG="$OUT/log.txt"
left() { echo $((DEADLINE_S - ($(date +%s) - T0))); }
# stage NAME MIN_SECONDS MAX_SECONDS CMD...: run CMD for at most MAX_SECONDS (0: no cap) and never past
# the deadline, or say why not
stage() {
  local name=$1 need=$2 cap=$3; shift 3
  local budget; budget=$(left)
  if [ "$budget" -lt "$need" ]; then
    echo "[$name: skipped, ${budget} s left of the call, it needs ${need} s]" | tee -a "$LOG"; return 1
  fi
  [ "$cap" -gt 0 ] && [ "$cap" -lt "$budget" ] && budget=$cap
  echo "[$name: starting, at most ${budget} s]" | tee -a "$LOG"
  timeout -k 10 "$budget" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || echo "[$name: exit $rc]" | tee -a "$LOG"
  return "$rc"
}
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi";
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())";
  nproc; } 2>&1 | tee "$LOG"
if [ "${INSTALL_WHEELS:-1}" = 1 ] && ls .whl/*.whl >/dev/null 2>&1; then  # TransformerLens, SAELens and what the image lacks of their needs
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    2>&1 | tail -2 | tee -a "$LOG"
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # python3 bench/x.py puts only bench/ on the path
if [ "${FORCE_WANDB_STANDIN:-0}" = 1 ] || ! python3 -c "import wandb" 2>/dev/null; then
  export PYTHONPATH=$PWD/scripts/device_site${PYTHONPATH:+:$PYTHONPATH}  # SAELens imports wandb, never calls it
  echo "[wandb stand-in in use: scripts/device_site]" | tee -a "$LOG"
fi

# 0. calibration
if [ "$CALIBRATE" = 1 ] && [ -z "${BATCH:-}" ]; then
  # shellcheck disable=SC2086
  stage calibration 60 "$CAL_CAP_S" python3 bench/calibrate_training.py --workers "$WORKERS" --json "$RUN/calibration.json" \
    $SHAPE $CAL_ARGS
  if [ -f "$RUN/calibration.json" ]; then
    read -r BATCH COMPILE_MODE < <(python3 -c "import json; c = json.load(open('$RUN/calibration.json'))['choice']; print(c['batch'], c['mode'])")
  fi
fi
BATCH=${BATCH:-512}
COMPILE_MODE=${COMPILE_MODE:-default}
LR_USED=$(python3 -c "print(f'{$LR * ($BATCH / 512) ** 0.5:.3g}')")
WARMUP=$((512000 / BATCH))  # ~512k games of warm-up whatever the batch
EVAL_EVERY=${EVAL_EVERY:-$(( (EVAL_GAMES_EVERY + BATCH - 1) / BATCH ))}
TRAIN_MINUTES=$(python3 -c "print(round(max(0.1, min($MINUTES, ($(left) - $RESERVE_S) / 60)), 2))")
echo "[training setting: batch $BATCH, compile mode $COMPILE_MODE, lr $LR_USED (LR $LR at batch 512), warm-up $WARMUP steps, eval every $EVAL_EVERY steps, $TRAIN_MINUTES min]" | tee -a "$LOG"

# 1. train: cosine over the time budget (--time-schedule), held-out eval every EVAL_EVERY steps
# shellcheck disable=SC2086
python3 -m othello_core train --run-dir "$RUN" --target legal --batch-size "$BATCH" --steps 10000000 \
  --lr "$LR_USED" --warmup-steps "$WARMUP" --min-lr-ratio 0.05 --eval-every "$EVAL_EVERY" --eval-games 2000 \
  --save-every 100000000 --workers "$WORKERS" --compile --compile-mode "$COMPILE_MODE" --max-minutes "$TRAIN_MINUTES" \
  --time-schedule --final-eval-games "$FINAL_EVAL" --no-progress $SHAPE ${INIT:+--init-from "$INIT"} 2>&1 | tee -a "$LOG"
[ -f "$RUN/checkpoint.pt" ] || { echo "training failed: no checkpoint" | tee -a "$LOG"; exit 1; }

# 2. weights back in shards under 16 MiB
python3 -m othello_core export "$RUN" --shard-mb 15 2>&1 | tee -a "$LOG"
cp "$RUN"/model-*-of-*.safetensors "$OUT/"

# 3. the SAEs, on the better model
BETTER=$(python3 - "$RUN" "$INIT" <<'PY'
import json, sys
from pathlib import Path

def legal_top1(folder: str) -> float:
    try:
        return json.loads((Path(folder) / "config.json").read_text())["training"]["final_eval"]["legal_top1"]
    except (OSError, KeyError, ValueError):
        return -1.0

run, init = sys.argv[1], sys.argv[2]
print(init if init and legal_top1(init) >= legal_top1(run) else run)
PY
)
echo "[the better model, which the SAEs read: $BETTER]" | tee -a "$LOG"
if [ "$BETTER" = "$RUN" ]; then echo new > "$RUN/sae_model.txt"; else echo "$BETTER" > "$RUN/sae_model.txt"; fi
SAE_HOOK=$(python3 -c "from othello_core.analysis.sae.recipe import SAERecipe; print(SAERecipe().hook)")
# shellcheck disable=SC2086
stage "SAE" 80 120 python3 -m othello_core sae train --model "$BETTER" --games "$SAE_GAMES" $SAE_ARGS \
  --out "$RUN/sae/$SAE_HOOK" && tar -C "$RUN" -czf "$OUT/sae.tgz" sae
# 4. GPU figures (each part independent; the app parts on the bundled model, its probes, the new SAE)
stage "GPU figures" 40 0 python3 bench/bench_gpu.py "$RUN" --json "$RUN/gpu_bench.json" --sae "$RUN/sae/$SAE_HOOK"
# shellcheck disable=SC2086
stage "control SAE" 80 0 python3 -m othello_core sae train --model "$BETTER" --control \
  --games "$SAE_GAMES" $SAE_ARGS --out "$RUN/sae_control/$SAE_HOOK" && tar -C "$RUN" -czf "$OUT/sae_control.tgz" sae_control

# 5. the small files in one archive (config, shard index, metrics, calibration, GPU figures[, the log])
pack_meta() {
  # shellcheck disable=SC2046
  tar -C "$RUN" -czf "$OUT/run_meta.tgz" config.json model.safetensors.index.json metrics.jsonl sae_model.txt \
    $(cd "$RUN" && ls calibration.json gpu_bench.json log.txt.gz 2>/dev/null)
}
pack_meta
echo "[done in $(($(date +%s) - T0)) s]" | tee -a "$LOG"
ls -la "$OUT" | tee -a "$LOG"
if [ "$(find "$OUT" -type f | wc -l)" -gt 8 ]; then  # the device returns at most 8 files: the log goes in the archive
  gzip -c "$LOG" > "$RUN/log.txt.gz" && rm "$LOG" && pack_meta
fi
