"""Causal check of the neurons' rule labels: does ablating a neuron hurt legal-move prediction more on
the positions its rule describes than elsewhere, and more so than for random neurons of the same layer?

For a neuron, ablation sets it to its mean activation over the held-out positions at every position
(mean ablation). The harm at a position is the drop of the probability the model puts on legal moves.
A neuron's *selectivity* is its mean harm on positions matching its rule over its mean harm on the
others (arXiv 2511.00059 report 5-10x for their labelled layer-5 neurons).
"""

from __future__ import annotations

import numpy as np
import torch

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.labels import UnitLabels
from othello_core.model.evaluate import move_log_probs
from othello_core.rules.hooks import mlp_post
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import square_mask_to_tokens


def rule_matches(path: np.ndarray, props: np.ndarray) -> np.ndarray:
    """``[rows]`` bool: the positions where every condition of the signed ``path`` holds."""
    match = np.ones(len(props), bool)
    for p in path[path != 0]:
        match &= props[:, abs(int(p)) - 1] == (p > 0)
    return match


@torch.no_grad()
def legal_mass(service, batch, hooks=()) -> np.ndarray:
    """``[rows]``: probability on legal moves at every real position of ``batch`` (``real_positions`` order)."""
    pick = real_positions(batch)
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    logits, _ = service.run(tokens, fwd_hooks=hooks)
    probs = move_log_probs(logits).exp().cpu().numpy()[pick[:, 0], pick[:, 1]]  # [rows, 61]
    legal = square_mask_to_tokens(batch.labels["legal"][pick[:, 0], pick[:, 1]].astype(bool))
    return (probs * legal).sum(-1)


def ablation_hook(layer: int, neuron: int, value: float):
    def hook(acts, hook=None):  # noqa: ARG001
        acts[..., neuron] = value
        return acts
    return mlp_post(layer), hook


def selectivity(service, batch, props: np.ndarray, acts: np.ndarray, labels: UnitLabels, layer: int,
                neurons, clean: np.ndarray | None = None) -> list[dict]:
    """Per neuron: harm on rule-matching positions, harm elsewhere, their ratio, how many positions match."""
    clean = legal_mass(service, batch) if clean is None else clean
    rows = []
    for n in neurons:
        match = rule_matches(labels.path[n], props)
        harm = clean - legal_mass(service, batch, [ablation_hook(layer, int(n), float(acts[:, n].mean()))])
        on = float(harm[match].mean()) if match.any() else float("nan")
        off = float(harm[~match].mean()) if (~match).any() else float("nan")
        rows.append({"neuron": int(n), "r2": round(float(labels.r2[n]), 3), "rule": labels.rule(int(n)),
                     "matching": int(match.sum()), "harm_matching": on, "harm_other": off,
                     "ratio": on / off if off > 1e-6 else float("nan")})
    return rows


def validate_layer(service, batch, props: np.ndarray, acts: np.ndarray, labels: UnitLabels, layer: int,
                   top: int = 20, seed: int = 0, min_matching: int = 20) -> dict:
    """The ``top`` best-labelled neurons (highest R^2, a rule matching at least ``min_matching`` positions)
    against as many random neurons of the layer (their own rules), by the median selectivity."""
    order = np.argsort(-labels.r2)
    usable = [int(n) for n in order if (labels.path[n] != 0).any()
              and min_matching <= rule_matches(labels.path[n], props).sum() < len(props)]
    best = usable[:top]
    rng = np.random.default_rng(seed)
    others = [n for n in usable if n not in set(best)]
    random_ = [int(n) for n in rng.choice(others, size=min(top, len(others)), replace=False)]
    clean = legal_mass(service, batch)
    labelled = selectivity(service, batch, props, acts, labels, layer, best, clean)
    control = selectivity(service, batch, props, acts, labels, layer, random_, clean)

    return {"layer": layer, "positions": int(len(props)), "labelled": labelled, "random": control,
            **{group: summary(rows) for group, rows in (("labelled_summary", labelled), ("random_summary", control))}}


def summary(rows: list[dict]) -> dict:
    """Medians of the harm on rule-matching and on other positions, and how many neurons hurt more where their
    rule holds (a ratio is undefined where ablating helps elsewhere, so the medians are compared instead)."""
    on = [r["harm_matching"] for r in rows if np.isfinite(r["harm_matching"])]
    off = [r["harm_other"] for r in rows if np.isfinite(r["harm_other"])]
    return {"neurons": len(rows), "median_harm_matching": float(np.median(on)) if on else float("nan"),
            "median_harm_other": float(np.median(off)) if off else float("nan"),
            "more_where_rule_holds": int(sum(r["harm_matching"] > r["harm_other"] for r in rows))}
