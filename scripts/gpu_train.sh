#!/usr/bin/env bash
# Issue 8's single device run, prepared on the CPU (not yet run on a GPU): train the paper-size
# Othello-GPT in bf16, evaluate it, and bring the weights back in files under 16 MiB.
#   device run:  bash scripts/gpu_train.sh        (writes at most 8 files to $OUT)
# Needs only torch, numpy, safetensors, tqdm (all on the lent machines); no TransformerLens.
# Back here: cp the shards + index + config.json into a run folder, then
#   python -m othello_core card RUN && scripts/refresh_bundled.sh RUN   (see the shards' index)
set -euo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-runs/gpu-out}
RUN=${RUN:-runs/paper-gpu}
MINUTES=${MINUTES:-7}          # training wall time; the whole call must stay under 10 minutes
BATCH=${BATCH:-512}
mkdir -p "$OUT" "$RUN"
LOG="$OUT/log.txt"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$LOG"
# 1. calibrate: seconds per step at this batch size (compile and warm-up included in the first 50)
python3 -m othello_core train --run-dir "$RUN-calib" --batch-size "$BATCH" --steps 150 --warmup-steps 10 \
  --eval-every 150 --eval-games 200 --save-every 1000000 --workers 8 --compile --no-progress 2>&1 | tail -3 | tee -a "$LOG"
STEPS=$(python3 - "$RUN-calib" "$MINUTES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
per_step = rows[-1]["elapsed_s"] / rows[-1]["step"]
print(int(float(sys.argv[2]) * 60 / per_step * 0.95))
PY
)
echo "planned steps: $STEPS (batch $BATCH)" | tee -a "$LOG"
# 2. train with the schedule fitted to the time budget (max-minutes is a safety net)
python3 -m othello_core train --run-dir "$RUN" --batch-size "$BATCH" --steps "$STEPS" --lr 1e-3 \
  --warmup-steps 500 --eval-every 1000 --eval-games 2000 --save-every 100000000 --workers 8 --compile \
  --max-minutes "$MINUTES" --no-progress 2>&1 | tee -a "$LOG" | grep -E '^\{|wrote'
# 3. weights back in shards under 16 MiB
python3 -m othello_core export "$RUN" --shard-mb 15 | tee -a "$LOG"
cp "$RUN"/model-*.safetensors "$RUN/model.safetensors.index.json" "$RUN/config.json" "$OUT/"
python3 - "$RUN" <<'PY' | tee -a "$LOG"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
last = rows[-1]
print(f"games {last['games_seen']:,} in {last['elapsed_s']:.0f} s = {last['games_seen'] / last['elapsed_s']:,.0f} games/s; "
      f"held-out legal top-1 {last['legal_top1']:.4%}; training FLOP/s ~ {6 * 25_295_421 * 59 * last['games_seen'] / last['elapsed_s'] / 1e12:.0f} TFLOP/s (6 x params x tokens)")
PY
