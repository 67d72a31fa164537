"""``sae compare``: the architecture chosen on evidence.

Candidate recipes (TopK at several k, BatchTopK, Matryoshka BatchTopK, standard ReLU + L1) are trained on
the same activations with the same token budget and measured on the same held-out games, with the
six-family metrics and Karvonen et al.'s (``karvonen``: coverage and board reconstruction, labelled on
fitting games and scored on others); ``choose`` picks the candidate whose spliced model keeps the most
legal top-1, ties (within ``TIE``) broken by Karvonen's board reconstruction.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from typing import Callable

import torch

from othello_core.analysis.sae.recipe import SAERecipe

CANDIDATES = ({"architecture": "topk", "k": 32}, {"architecture": "topk", "k": 64},
              {"architecture": "standard", "l1_coefficient": 5.0})
SPARSE_CANDIDATES = ({"architecture": "topk"}, {"architecture": "batchtopk"}, {"architecture": "matryoshka"})
CHOICE_FILE = "architecture_choice.json"
TIE = 0.0005  # legal top-1 differences below this are ties


def compare(service, acts: torch.Tensor, base: SAERecipe, batch, tokens: int, epochs: int,
            candidates=CANDIDATES, progress: Callable | None = None, karvonen_games=None,
            on_row: Callable | None = None) -> list[dict]:
    """Train every candidate on the first ``tokens`` rows of ``acts`` and measure it on ``batch`` (and,
    given ``karvonen_games`` = (fitting, held-out) batches, with Karvonen's metrics on them)."""
    import time

    from othello_core.analysis.sae import metrics
    from othello_core.analysis.sae.karvonen import measure_features
    from othello_core.analysis.sae.training import load_sae, save_sae, train_sae
    rows = []
    for change in candidates:
        start = time.perf_counter()
        recipe = replace(base, epochs=epochs, **change)
        with tempfile.TemporaryDirectory() as tmp:
            save_sae(train_sae(acts[:tokens], recipe, service.name, service.device), tmp, {})
            train_s = time.perf_counter() - start
            sae = load_sae(tmp, device=service.device)
        with service.locked() as model:
            x, feats, pick = metrics.stream_and_features(model, sae, batch, recipe.hook, recipe.stream)
        board = metrics.board_state_metrics(feats, metrics.board_properties(batch, pick), progress)
        row = {"candidate": change, "tokens": tokens, "epochs": epochs, "train_s": round(train_s, 1),
               **metrics.reconstruction_stats(sae, x, feats),
               **metrics.spliced_legal_top1(service, sae, recipe.hook, batch),
               "coverage": board["coverage"], "reconstruction_f1": board["reconstruction_f1"]}
        if karvonen_games is not None:
            with service.locked() as model, torch.no_grad():
                k = measure_features(model, str(change), recipe.hook, sae.encode, *karvonen_games)
            row["karvonen"] = {group: {"coverage": k[group]["coverage"]["value"],
                                       "reconstruction": k[group]["reconstruction"]["value"]}
                               for group in ("board", "legal")}
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def choose(rows: list[dict]) -> dict:
    """The candidate with the best spliced legal top-1; ties within ``TIE`` go to the higher Karvonen board
    reconstruction where it was measured, else to the higher coverage."""
    top = max(r["legal_top1_spliced"] for r in rows)
    tied = [r for r in rows if r["legal_top1_spliced"] >= top - TIE]
    if all("karvonen" in r for r in tied):
        return max(tied, key=lambda r: r["karvonen"]["board"]["reconstruction"])
    return max(tied, key=lambda r: r["coverage"])
