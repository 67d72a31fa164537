#!/usr/bin/env bash
# Rebuild everything derived from the bundled weights, in order, after the model changes:
#   scripts/refresh_bundled.sh RUN_DIR
# copies RUN_DIR/{model.safetensors,config.json} into assets/models/bundled, then writes the model
# card (eval on 10k held-out synthetic games and all eOthello games), the probes and their report,
# the edit sweep and the findings. Each step prints its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUN=${1:?usage: scripts/refresh_bundled.sh RUN_DIR}
DEST=assets/models/bundled
mkdir -p "$DEST"
cp "$RUN/model.safetensors" "$RUN/config.json" "$DEST/"
rm -f "$DEST"/probes.safetensors "$DEST"/probes_report.json "$DEST"/edit_sweep.json "$DEST"/findings.json "$DEST"/neuron_top.npz
"$PY" -m othello_core card "$DEST" --name bundled --games 10000
"$PY" -m othello_core probes train --model bundled --games 3000 --positions 20 --epochs 12
"$PY" -m othello_core edits sweep --model bundled
"$PY" -m othello_core findings --model bundled --games 400
