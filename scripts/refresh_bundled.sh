#!/usr/bin/env bash
# Rebuild everything derived from the bundled weights, in order, after the model changes:
#   scripts/refresh_bundled.sh RUN_DIR
# copies RUN_DIR's weights (model.safetensors, or shards + index), config.json and metrics.jsonl
# into assets/models/bundled, then writes the model card (eval on 10k held-out synthetic games and
# all eOthello games), the probe suite and its report (every stream and kind at scale, the
# random-init control, Li et al.'s protocol: `python -m othello_core probes train`), the edit sweep
# and the findings. Each step prints its figures. PROBE_ARGS adds probe-suite flags (the suite
# ships MLP probes of width 128 only, to keep the repository under the 64 MiB a device call can
# carry; width 512 is in the report). The suite keeps its activation stores in runs/probe-suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUN=${1:?usage: scripts/refresh_bundled.sh RUN_DIR}
PROBE_ARGS=${PROBE_ARGS:-}
DEST=assets/models/bundled
mkdir -p "$DEST"
rm -rf "$DEST"/model.safetensors "$DEST"/model-*-of-*.safetensors "$DEST"/model.safetensors.index.json \
  "$DEST"/training "$DEST"/probes.safetensors "$DEST"/probes_report.json "$DEST"/edit_sweep.json \
  "$DEST"/findings.json "$DEST"/neuron_top.npz "$DEST"/training_metrics.jsonl
cp "$RUN"/model*.safetensors "$RUN/config.json" "$DEST/"
[ -f "$RUN/model.safetensors.index.json" ] && cp "$RUN/model.safetensors.index.json" "$DEST/"
[ -f "$RUN/metrics.jsonl" ] && cp "$RUN/metrics.jsonl" "$DEST/training_metrics.jsonl"
"$PY" -m othello_core card "$DEST" --name bundled --games 10000
"$PY" -m othello_core probes train --model bundled $PROBE_ARGS
"$PY" -m othello_core edits sweep --model bundled
"$PY" -m othello_core findings --model bundled --games 400
