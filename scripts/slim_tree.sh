#!/usr/bin/env bash
# The slim travelling tree for a device call (64 MiB limit on what travels): derived assets the device
# script never reads are set aside in .aside/ (git-ignored, so they do not travel) and put back after.
#   bash scripts/slim_tree.sh aside     before the call
#   bash scripts/slim_tree.sh restore   after it (also safe to run when nothing is aside)
# Everything set aside is regenerable (the SAE: `sae train` + `sae report`; the probes: `probes train`;
# neuron_top.npz: `findings`), but restore puts the committed copies back untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
DERIVED=(assets/models/bundled/sae assets/models/bundled/sae_control assets/models/bundled/probes.safetensors
         assets/models/bundled/neuron_top.npz)
case "${1:-}" in
  aside)
    for path in "${DERIVED[@]}"; do
      [ -e "$path" ] || continue
      mkdir -p ".aside/$(dirname "$path")"
      mv "$path" ".aside/$path"
    done ;;
  restore)
    for path in "${DERIVED[@]}"; do
      [ -e ".aside/$path" ] || continue
      [ -e "$path" ] && { echo "refusing to overwrite $path with .aside/$path" >&2; exit 1; }
      mv ".aside/$path" "$path"
    done ;;
  *) sed -n '2,7p' "$0"; exit 1 ;;
esac
