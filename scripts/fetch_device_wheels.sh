#!/usr/bin/env bash
# The wheels issue 27's device call carries (.whl, git-ignored): what the app's analysis and the SAE
# training import that the device image (Python 3.12, torch 2.11, transformers 5.17; its package list is
# in the device tool's KINDS.md) lacks. TransformerLens 3.9 (not the project's 3.2.1: the image's transformers
# 5.x needs 3.9; tests/test_reference_logits.py keeps their numbers equal) and SAELens with their missing needs, and no
# more: the tree that travels must stay under 64 MiB (scripts/gpu_preflight.sh measures it). wandb
# (20 MB) is not carried: SAELens imports it at module level but never calls it with log_to_wandb off,
# so scripts/device_site/ stands in for it there (scripts/gpu_train.sh puts it on the path only where
# wandb is missing).
#   bash scripts/fetch_device_wheels.sh      (from the package registry; ~3 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WHEELS=(transformer-lens==3.9.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 better-abc==0.0.3
        sae-lens==6.54.12 simple-parsing==0.1.9 docstring-parser==0.18.0)
rm -rf .whl && mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d .whl "${WHEELS[@]}"
ls -la .whl
