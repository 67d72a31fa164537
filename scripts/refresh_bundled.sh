#!/usr/bin/env bash
# Rebuild everything derived from the bundled weights, in order, after the model changes:
#   scripts/refresh_bundled.sh RUN_DIR
# copies RUN_DIR's weights (model.safetensors, or shards + index), config.json and metrics.jsonl
# into assets/models/bundled, then writes the model card (eval on 10k held-out synthetic games and
# all eOthello games), the probe suite and its report (every stream and kind at scale, the
# random-init control, Li et al.'s protocol: `python -m othello_core probes train`), the edit sweep,
# the SAE and its report, and the findings. Each step prints its figures. PROBE_ARGS adds probe-suite
# flags (the suite ships MLP probes of width 128 only, to keep the repository under the 64 MiB a device
# call can carry; width 512 is in the report). The suite keeps its activation stores in runs/probe-suite.
# The SAE: SAE_FROM=FOLDER ships FOLDER/sae (and FOLDER/sae_control) -- trained on the device by
# scripts/gpu_train.sh -- instead of training it here (`sae train`, ~45 CPU-minutes); either way it is
# measured here (`sae report`). The random-init control's SAE does not depend on the weights: it is
# replaced only from SAE_FROM, or trained when its (git-ignored) weights are missing.
#   SAE_FROM=RUN scripts/refresh_bundled.sh --sae-only   the SAE steps and the findings alone, for a
#                                                        device run that kept the bundled weights
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUN=${1:?usage: scripts/refresh_bundled.sh RUN_DIR | --sae-only}
PROBE_ARGS=${PROBE_ARGS:-}
SAE_FROM=${SAE_FROM:-}
DEST=assets/models/bundled
HOOK=$("$PY" -c "from othello_core.analysis.sae.recipe import SAERecipe; print(SAERecipe().hook)")

# ship_sae KIND (sae | sae_control): copy the SAE from SAE_FROM over the bundled one (the architecture
# choice beside it stays); false when SAE_FROM has none
ship_sae() {
  [ -n "$SAE_FROM" ] && [ -f "$SAE_FROM/$1/$HOOK/cfg.json" ] || return 1
  mkdir -p "$DEST/$1/$HOOK"
  cp "$SAE_FROM/$1/$HOOK"/{cfg.json,sae_weights.safetensors,training.json} "$DEST/$1/$HOOK/"
  echo "shipped the $1 trained in $SAE_FROM"
}

if [ "$RUN" != --sae-only ]; then
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
fi
ship_sae sae || "$PY" -m othello_core sae train --model bundled
"$PY" -m othello_core sae report --model bundled
if ship_sae sae_control || [ ! -f "$DEST/sae_control/$HOOK/sae_weights.safetensors" ]; then
  [ -f "$DEST/sae_control/$HOOK/sae_weights.safetensors" ] || "$PY" -m othello_core sae train --model bundled --control
  "$PY" -m othello_core sae report --model bundled --control
fi
"$PY" -m othello_core findings --model bundled --games 400
