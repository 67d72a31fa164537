#!/usr/bin/env bash
# Run here, on the CPU, before issue 27's device call (scripts/gpu_train.sh): it costs no device time.
#   1. the working tree that travels (tracked + untracked-not-ignored files + the carried .whl) must
#      stay under the device's 64 MiB, or the call is refused;
#   2. the wheels the device needs are in .whl (scripts/fetch_device_wheels.sh);
#   3. the whole device script runs end to end at tiny scale -- calibration, training, export, both SAEs
#      (with the wandb stand-in), the GPU figures -- and what it leaves in OUT (at most 8 files) unpacks
#      and passes scripts/unpack_gpu_run.sh (a few minutes on 2 cores).
#   The tree is measured slim (scripts/slim_tree.sh aside: derived assets, the app and the tests set aside,
#   restored on exit), as the device call must send it: run `bash scripts/slim_tree.sh aside` before
#   the call and `bash scripts/slim_tree.sh restore` after.
# Usage: bash scripts/gpu_preflight.sh          (SKIP_DRY_RUN=1 for the size check alone)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=$((64 * 1024 * 1024))
full=$(git ls-files -z --cached --others --exclude-standard | xargs -0 cat 2>/dev/null | wc -c)
bash scripts/slim_tree.sh aside
trap 'bash scripts/slim_tree.sh restore' EXIT
tree=$(git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done | xargs -0 cat | wc -c)
wheels=$( (cat .whl/*.whl 2>/dev/null || true) | wc -c)
total=$((tree + wheels))
awk -v f="$full" -v t="$tree" -v w="$wheels" 'BEGIN { m = 1048576;
  printf "travels: slim tree %.2f MiB (full %.2f MiB) + .whl %.2f MiB = %.2f MiB of 64 MiB\n", t / m, f / m, w / m, (t + w) / m }'
if [ "$total" -ge "$LIMIT" ]; then
  echo "over the device's 64 MiB: the call would be refused. Keep in .whl only the wheels that" \
    "scripts/gpu_train.sh lists, or run without carry=[.whl] (the TransformerLens timing is then skipped)" >&2
  exit 1
fi
[ "${SKIP_DRY_RUN:-0}" = 1 ] && exit 0
for wheel in transformer_lens sae_lens simple_parsing docstring_parser datasets dill multiprocess better_abc; do
  ls .whl/${wheel}-*.whl >/dev/null 2>&1 || { echo "no .whl/${wheel}-*.whl: run bash scripts/fetch_device_wheels.sh" >&2; exit 1; }
done
tmp=$(mktemp -d)
PY=$(command -v python3)
[ -x .venv/bin/python ] && PY=$PWD/.venv/bin/python
# Tiny scale, every stage: 6 layers so that the SAE's stream (6) exists; the wandb stand-in forced, as on
# the device; the venv's packages, not the wheels (they are for the device's Python 3.12), but without the
# venv's editable install of othello_core: the device has none, so it must import from the working tree.
mkdir -p "$tmp/no_editable"
cat > "$tmp/no_editable/sitecustomize.py" <<'PY'
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in (getattr(f, "__module__", "") or "")]
sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in (getattr(h, "__module__", "") or "")]
PY
PYTHONPATH=$tmp/no_editable PATH=$(dirname "$PY"):$PATH INSTALL_WHEELS=0 OUT="$tmp/out" RUN="$tmp/run" INIT= MINUTES=0.1 WORKERS=1 EVAL_EVERY=20 FINAL_EVAL=200 \
  SHAPE="--n-layers 6 --d-model 32 --n-heads 4" DEADLINE_S=1800 FORCE_WANDB_STANDIN=1 \
  CAL_ARGS="--budget-s 60 --settings default:16 default:32 reduce-overhead:32 --step-seconds 0.3 --generator-seconds 1" \
  SAE_GAMES=60 SAE_ARGS="--epochs 1 --batch-size 64 --collect-batch 32 --k 8" \
  bash scripts/gpu_train.sh >"$tmp/log" 2>&1
grep -q '"final": true' "$tmp/log" || { cat "$tmp/log"; echo "dry run: no final evaluation" >&2; exit 1; }
grep -q 'wandb stand-in in use' "$tmp/log" || { cat "$tmp/log"; echo "dry run: the wandb stand-in was not used" >&2; exit 1; }
for done in '^\[calibration\] chosen' '^\[app (TransformerLens): .*edit_over_forward' '^\[real games' '^\[forward'; do
  grep -q "$done" "$tmp/log" || { cat "$tmp/log"; echo "dry run: no line matching $done" >&2; exit 1; }
done
if grep -E '^\[[a-zA-Z ()]+: .*failed|^\[.*: (exit|skipped)' "$tmp/log"; then
  echo "dry run: a stage failed or was skipped (above)" >&2; exit 1
fi
for f in run_meta.tgz sae.tgz sae_control.tgz log.txt; do
  [ -f "$tmp/out/$f" ] || { cat "$tmp/log"; echo "dry run: $f missing from OUT" >&2; exit 1; }
done
ls "$tmp"/out/model-*-of-*.safetensors >/dev/null || { cat "$tmp/log"; echo "dry run: no weight shards in OUT" >&2; exit 1; }
count=$(find "$tmp/out" -type f | wc -l)
[ "$count" -le 8 ] || { echo "dry run: $count files in OUT; the device returns at most 8" >&2; exit 1; }
grep -E '^\[(calibration|training setting|the better model|app|SAE|control SAE|GPU figures|forward|real games|training:)' "$tmp/log"
bash scripts/unpack_gpu_run.sh "$tmp/out" "$tmp/unpacked"
echo "dry run passed, through the unpacking back here (log: $tmp/log)"
