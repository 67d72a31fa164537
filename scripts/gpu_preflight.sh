#!/usr/bin/env bash
# Run here, on the CPU, before issue 8's device call (scripts/gpu_train.sh): it costs no device time.
#   1. the working tree that travels (tracked + untracked-not-ignored files + the carried .whl) must
#      stay under the device's 64 MiB, or the call is refused;
#   2. the whole device script runs end to end at tiny scale, and what it leaves in OUT unpacks and
#      passes scripts/unpack_gpu_run.sh (~45 s on 2 cores).
#   The tree is measured slim (scripts/slim_tree.sh aside: derived assets such as the SAE set aside,
#   restored on exit), as the device call must send it: run `bash scripts/slim_tree.sh aside` before
#   the call and `bash scripts/slim_tree.sh restore` after.
# Usage: bash scripts/gpu_preflight.sh          (SKIP_DRY_RUN=1 for the size check alone)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=$((64 * 1024 * 1024))
full=$(git ls-files -z --cached --others --exclude-standard | xargs -0 cat 2>/dev/null | wc -c)
bash scripts/slim_tree.sh aside
trap 'bash scripts/slim_tree.sh restore' EXIT
tree=$(git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | xargs -0 cat | wc -c)
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
tmp=$(mktemp -d)
PY=$(command -v python3)
[ -x .venv/bin/python ] && PY=$PWD/.venv/bin/python
PATH=$(dirname "$PY"):$PATH OUT="$tmp/out" RUN="$tmp/run" MINUTES=0.1 WORKERS=1 EVAL_EVERY=20 FINAL_EVAL=200 \
  SHAPE="--n-layers 2 --d-model 32 --n-heads 4" bash scripts/gpu_train.sh >"$tmp/log" 2>&1
grep -q '"final": true' "$tmp/log" || { cat "$tmp/log"; echo "dry run: no final evaluation" >&2; exit 1; }
[ -f "$tmp/out/run_meta.tgz" ] && ls "$tmp"/out/model-*-of-*.safetensors >/dev/null \
  || { cat "$tmp/log"; echo "dry run: weights or run_meta.tgz missing from OUT" >&2; exit 1; }
grep -E '^\[(training|forward|real games|app analysis)' "$tmp/log"
bash scripts/unpack_gpu_run.sh "$tmp/out" "$tmp/unpacked"
echo "dry run passed, through the unpacking back here (log: $tmp/log)"
