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

# recipe_flags FOLDER: the `sae train` flags of the recipe the SAE in FOLDER was trained with
recipe_flags() {
  "$PY" - "$1/training.json" <<'PY'
import json, sys
for name, value in json.load(open(sys.argv[1]))["recipe"].items():
    flag = "--" + name.replace("_", "-")
    print(flag if value is True else "--no-" + flag[2:] if value is False else f"{flag} {value}", end=" ")
PY
}

# Before hours of CPU work: an SAE from SAE_FROM must be of the weights it will sit beside.
if [ -n "$SAE_FROM" ] && [ -f "$SAE_FROM/sae/$HOOK/training.json" ]; then
  WEIGHTS=$([ "$RUN" = --sae-only ] && echo "$DEST" || echo "$RUN")
  "$PY" - "$SAE_FROM/sae/$HOOK/training.json" "$WEIGHTS" <<'PY'
import json, sys
from othello_core.model.hooked_transformer import load_model
from othello_core.model.weights import model_hash
trained_on, here = json.load(open(sys.argv[1]))["model_hash"], model_hash(load_model(sys.argv[2], device="cpu"))
if trained_on != here:
    sys.exit(f"{sys.argv[1]}: that SAE was trained on weights {trained_on}, not those in {sys.argv[2]} ({here}). "
             "When the device kept the bundled weights, run with --sae-only.")
PY
fi

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
# The control's SAE must share the trained one's recipe (a fair control): shipped from SAE_FROM, kept
# when its weights are here and its recipe matches, else trained here with that recipe.
shipped=0; ship_sae sae_control && shipped=1
RECIPE=$(recipe_flags "$DEST/sae/$HOOK") CONTROL=$DEST/sae_control/$HOOK
if [ ! -f "$CONTROL/sae_weights.safetensors" ] || [ "$RECIPE" != "$(recipe_flags "$CONTROL" 2>/dev/null)" ]; then
  echo "training the control's SAE with the trained SAE's recipe: $RECIPE"
  # shellcheck disable=SC2086
  "$PY" -m othello_core sae train --model bundled --control $RECIPE
  shipped=1
fi
[ "$shipped" = 1 ] && "$PY" -m othello_core sae report --model bundled --control
"$PY" -m othello_core findings --model bundled --games 400
