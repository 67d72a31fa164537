#!/usr/bin/env bash
# Issue 8's single device run: train the paper-size Othello-GPT in bf16 for a fixed time budget,
# evaluate it on 10,000 held-out games, time it on the GPU, and bring the weights back in files
# under 16 MiB (the device returns at most 8 files).
#   device run:  bash scripts/gpu_train.sh     (carry .whl for the TransformerLens timing)
# Training needs only torch, numpy, safetensors, tqdm; TransformerLens is used only by the last
# timing, from wheels in .whl (ignored by git; installed there into /tmp/site): transformer_lens
# 3.9.0, datasets 5.2.0, dill 0.4.1, multiprocess 0.70.19, better_abc 0.0.3, fetched with
# `pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64
# --platform any -d .whl NAME==VERSION`. Only these: TL's other needs are on the device image or never
# imported by the app core (beartype, typeguard, fancy_einsum: checked with them absent), and with
# them the tree would pass the device's 64 MiB. Before the device call, on the CPU (no device time):
#   bash scripts/gpu_preflight.sh     (travelling size, then this script end to end at tiny scale)
# INIT=assets/models/bundled continues from the bundled weights (fresh optimizer; e.g. LR=3e-4),
# since a run's checkpoint.pt (weights + AdamW state, ~300 MB) cannot come back from the device.
# Back here: bash scripts/unpack_gpu_run.sh FILES_AT RUN (shards + run_meta.tgz into one run folder,
# checked against the weights hash recorded at export); then scripts/refresh_bundled.sh RUN.
# Runs (bench/RESULTS.md): an H100 on 2026-11-26, 22.4k games/s, 20.6% MFU; an H200 on 2026-11-27 with
# INIT=assets/models/bundled LR=3e-4 MINUTES=7, 22.4k games/s, 9.46M games, 99.923% legal top-1 (522 s).
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-runs/gpu-out}
RUN=${RUN:-runs/paper-gpu}
MINUTES=${MINUTES:-5.75}         # training wall time after compilation; the call must end < 10 min
BATCH=${BATCH:-512}
LR=${LR:-1e-3}
WORKERS=${WORKERS:-12}         # generator processes (~5k labelled games/s each) for 16 cores
SHAPE=${SHAPE:-}               # empty: the paper's shape (8 layers, d_model 512, 8 heads)
INIT=${INIT:-}                 # weights to start from (a run folder); empty: random init
EVAL_EVERY=${EVAL_EVERY:-2000}
FINAL_EVAL=${FINAL_EVAL:-10000}
mkdir -p "$OUT" "$RUN"
LOG="$OUT/log.txt"
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi";
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())";
  nproc; } 2>&1 | tee "$LOG"

# 1. train: cosine over the time budget (--time-schedule), held-out eval every EVAL_EVERY steps
python3 -m othello_core train --run-dir "$RUN" --target legal --batch-size "$BATCH" --steps 10000000 \
  --lr "$LR" --warmup-steps 1000 --min-lr-ratio 0.05 --eval-every "$EVAL_EVERY" --eval-games 2000 \
  --save-every 100000000 --workers "$WORKERS" --compile --max-minutes "$MINUTES" --time-schedule \
  --final-eval-games "$FINAL_EVAL" --no-progress $SHAPE ${INIT:+--init-from "$INIT"} 2>&1 | tee -a "$LOG"
[ -f "$RUN/checkpoint.pt" ] || { echo "training failed: no checkpoint" | tee -a "$LOG"; exit 1; }

# 2. weights back in shards under 16 MiB
python3 -m othello_core export "$RUN" --shard-mb 15 2>&1 | tee -a "$LOG"
cp "$RUN"/model-*-of-*.safetensors "$OUT/"

# 3. GPU figures (each part independent); TransformerLens from the carried wheels if present
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    2>&1 | tail -2 | tee -a "$LOG"
fi
PYTHONPATH=/tmp/site timeout 100 python3 bench/bench_gpu.py "$RUN" --json "$RUN/gpu_bench.json" 2>&1 | tee -a "$LOG"

# 4. the small files in one archive (config, shard index, metrics, GPU figures)
tar -C "$RUN" -czf "$OUT/run_meta.tgz" config.json model.safetensors.index.json metrics.jsonl \
  $(cd "$RUN" && ls gpu_bench.json 2>/dev/null)
ls -la "$OUT" | tee -a "$LOG"
