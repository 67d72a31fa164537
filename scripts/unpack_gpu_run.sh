#!/usr/bin/env bash
# After issue 27's device call: gather what came back into one run folder and check it, before the
# ~45 CPU-minutes of scripts/refresh_bundled.sh.
#   bash scripts/unpack_gpu_run.sh FILES_AT [RUN_DIR]     (RUN_DIR defaults to runs/paper-gpu-new)
# FILES_AT is the folder the device reply names (the shards, run_meta.tgz, log.txt, and sae.tgz /
# sae_control.tgz when the SAEs trained there: unpacked into RUN_DIR/sae*/, each loaded). The weights
# are loaded here, which checks them against the hash export recorded on the GPU (config.json's
# weights_hash), and the run's own held-out evaluation is printed with its pass split.
set -euo pipefail
cd "$(dirname "$0")/.."
FROM=${1:?usage: scripts/unpack_gpu_run.sh FILES_AT [RUN_DIR]}
RUN=${2:-runs/paper-gpu-new}
PY=${PY:-.venv/bin/python}
mkdir -p "$RUN"
tar -C "$RUN" -xzf "$FROM/run_meta.tgz"
cp "$FROM"/model-*-of-*.safetensors "$RUN/"
[ -f "$FROM/log.txt" ] && cp "$FROM/log.txt" "$RUN/device_log.txt"
for archive in sae sae_control; do
  [ -f "$FROM/$archive.tgz" ] && tar -C "$RUN" -xzf "$FROM/$archive.tgz"
done
PYTHONPATH=. "$PY" - "$RUN" <<'PY'
import sys
from pathlib import Path

from othello_core.reports.evaluation import pass_errors, pass_errors_sentence
from othello_core.model.hooked_transformer import load_model
from othello_core.model.weights import read_config

run = Path(sys.argv[1])
config = read_config(run)
if "weights_hash" not in config:
    sys.exit(f"{run}/config.json records no weights_hash: the export predates it, so the shards cannot be checked")
load_model(str(run), device="cpu")  # raises ModelLoadError if the shards do not hash to weights_hash
print(f"{run}: weights hash {config['weights_hash']} matches the one recorded on the device")
final = config.get("training", {}).get("final_eval")
if final:
    print(f"device evaluation: legal top-1 {final['legal_top1']:.3%} on {final['games']:,} held-out games "
          f"after {config['training']['games_seen']:,} games of training "
          f"({config['training']['wall_time_s'] / 60:.1f} min on {config['training']['hardware']})")
    sentence = pass_errors_sentence(pass_errors(final.get("by_move", {})))
    if sentence:
        print(sentence)
from othello_core.analysis.sae.recipe import SAERecipe, sae_folder
from othello_core.analysis.sae.training import load_sae, read_training_info
for control in (False, True):
    folder = sae_folder(run, SAERecipe().hook, control=control)
    if (folder / "cfg.json").exists():
        info = read_training_info(folder)
        sae = load_sae(folder)
        print(f"{'control ' if control else ''}SAE of {info['model']}: {sae.cfg.d_sae} features, {info['tokens']:,} tokens, "
              f"{info['training_samples']:,} samples, train {info['train_tokens_per_s']:,.0f} tokens/s on {info['device']}")
kept = (run / "sae_model.txt").read_text().strip() if (run / "sae_model.txt").exists() else "new"
if kept != "new":  # the device's evaluations found the weights it started from better: they stay
    print(f"the device kept {kept} as the better model (the SAEs read it): "
          f"SAE_FROM={run} scripts/refresh_bundled.sh --sae-only")
else:
    print(f"next: SAE_FROM={run} scripts/refresh_bundled.sh {run}")
PY
