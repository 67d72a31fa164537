"""``sae compare``: the architecture chosen on evidence.

Candidate recipes (TopK at several k, standard ReLU + L1) are trained on the same activations with
the same token budget and measured on the same held-out games; ``choose`` picks the candidate
whose spliced model keeps the most legal top-1, ties (within ``TIE``) broken by coverage.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from typing import Callable

import torch

from othello_core.analysis.sae.recipe import SAERecipe

CANDIDATES = ({"architecture": "topk", "k": 32}, {"architecture": "topk", "k": 64},
              {"architecture": "standard", "l1_coefficient": 5.0})
CHOICE_FILE = "architecture_choice.json"
TIE = 0.0005  # legal top-1 differences below this are ties


def compare(service, acts: torch.Tensor, base: SAERecipe, batch, tokens: int, epochs: int,
            candidates=CANDIDATES, progress: Callable | None = None) -> list[dict]:
    """Train every candidate on the first ``tokens`` rows of ``acts`` and measure it on ``batch``."""
    from othello_core.analysis.sae import metrics
    from othello_core.analysis.sae.training import load_sae, save_sae, train_sae
    rows = []
    for change in candidates:
        recipe = replace(base, epochs=epochs, **change)
        with tempfile.TemporaryDirectory() as tmp:
            save_sae(train_sae(acts[:tokens], recipe, service.name, service.device), tmp, {})
            sae = load_sae(tmp, device=service.device)
        with service.locked() as model:
            x, feats, pick = metrics.stream_and_features(model, sae, batch, recipe.hook, recipe.stream)
        board = metrics.board_state_metrics(feats, metrics.board_properties(batch, pick), progress)
        rows.append({"candidate": change, "tokens": tokens, "epochs": epochs,
                     **metrics.reconstruction_stats(sae, x, feats),
                     **metrics.spliced_legal_top1(service, sae, recipe.hook, batch),
                     "coverage": board["coverage"], "reconstruction_f1": board["reconstruction_f1"]})
    return rows


def choose(rows: list[dict]) -> dict:
    """The candidate with the best spliced legal top-1 (ties within ``TIE`` go to higher coverage)."""
    top = max(r["legal_top1_spliced"] for r in rows)
    return max((r for r in rows if r["legal_top1_spliced"] >= top - TIE), key=lambda r: r["coverage"])
