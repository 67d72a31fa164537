#!/usr/bin/env bash
# Issue 37 item 2, in the background: choose among TopK, BatchTopK and Matryoshka BatchTopK on the same tokens
# (Karvonen's metrics decide ties), train the chosen one on more tokens, measure it; then the random-init
# control's SAE of the same recipe (before the metrics, which set it beside the trained one). Resumable: a stage whose output exists is skipped. One torch thread.
#   OMP_NUM_THREADS=1 nohup bash scripts/sae_upgrade.sh > runs/sae/upgrade.log 2>&1 &
# Nothing in assets/ changes here: the candidate lands in runs/sae/long and is shipped by hand if it measures
# better (`cp` its cfg.json + sae_weights.safetensors + training.json, then `sae report` and `sae karvonen`).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
GAMES=${GAMES:-20000}  # fresh games for the long run (12,000 trained the shipped SAE)
RUN=runs/sae
mkdir -p "$RUN"
ACTS="$RUN/acts_${GAMES}.pt"
stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }
if [ ! -f "$RUN/compare/architecture_choice.json" ]; then
  stamp "compare: collect $GAMES games, then TopK / BatchTopK / Matryoshka on the same 350k tokens x 1 epoch"
  $PY -m othello_core sae compare --candidates sparse --games "$GAMES" --acts-cache "$ACTS" --tokens 350000 \
    --compare-epochs 1 --measure-games 150 --karvonen-games 400 --choice-out "$RUN/compare"
fi
CHOSEN=$($PY -c "import json;print(json.load(open('$RUN/compare/architecture_choice.json'))['chosen']['architecture'])")
stamp "chosen: $CHOSEN"
if [ ! -f "$RUN/long/sae_weights.safetensors" ]; then
  stamp "long run: $CHOSEN on $GAMES games x 3 epochs"
  $PY -m othello_core sae train --architecture "$CHOSEN" --games "$GAMES" --acts-cache "$ACTS" --out "$RUN/long"
fi
CONTROL=assets/models/bundled/sae_control/blocks.5.hook_resid_post
if [ "$(cat "$CONTROL/training.json" 2>/dev/null | $PY -c "import json,sys;print(json.load(sys.stdin)['recipe']['architecture'])" 2>/dev/null)" != "$CHOSEN" ] \
   || [ ! -f "$CONTROL/sae_weights.safetensors" ]; then
  stamp "control: $CHOSEN on the random-init model's stream (4,000 games x 3 epochs)"
  $PY -m othello_core sae train --control --architecture "$CHOSEN" --games 4000 --acts-cache "$RUN/acts_control_4000.pt"
fi
if [ ! -f "$RUN/long/karvonen.json" ]; then
  stamp "Karvonen metrics of the long run (1,000 + 1,000 games; block-5 neurons and the control beside it)"
  $PY -m othello_core sae karvonen --out "$RUN/long" --no-all-blocks
fi
stamp "done"
