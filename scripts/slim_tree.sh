#!/usr/bin/env bash
# The slim travelling tree for a device call (64 MiB limit on what travels): what the device script never
# reads -- derived assets, the app, the tests -- is set aside in .aside/ (git-ignored, so it does not
# travel) and put back after.
#   bash scripts/slim_tree.sh aside     before the call
#   bash scripts/slim_tree.sh restore   after it (also safe to run when nothing is aside)
# Everything set aside is regenerable (the SAE: `sae train` + `sae report`; the probe report: `probes train`;
# neuron_top.npz: `findings`; play.png: scripts/screenshot_play.py), but restore puts the committed copies back.
set -euo pipefail
cd "$(dirname "$0")/.."
# The probes travel: the device times a live edit with them. The SAE does not: the device trains its own;
# nor do the transcoders (28.6 MB: `transcoders train` + `transcoders ship` remake them).
DERIVED=(assets/models/bundled/sae assets/models/bundled/sae_control assets/models/bundled/transcoders
         assets/models/bundled/labels
         assets/models/bundled/neuron_top.npz
         assets/models/bundled/probes_report.json docs/play.png app tests)
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
