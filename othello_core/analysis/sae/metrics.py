"""How good an SAE is, measured on held-out games: reconstruction, sparsity, the model spliced with
the SAE, and Karvonen et al.'s (2024) board-state metrics.

Board-state properties (binary, per position, *after* move ``p``; mine/theirs relative to the
player to move next, as everywhere in this project), 64 squares each:
``empty``, ``mine``, ``theirs`` (the board state), ``legal`` (a legal next move), ``flipped`` (by the
last move), ``last_move`` (the last move was played here).

A feature "fires for" a property at threshold ``t`` when its activation exceeds ``t`` times its own
largest activation on the measured positions (Karvonen et al.'s per-feature relative thresholds,
``THRESHOLDS``). Then, per property:

* the best feature: the (feature, threshold) of highest F1, with its precision and recall (chosen and
  scored on the same positions, as Karvonen et al. do); ``held_out`` has the same choice made on the
  first half of the positions and scored on the second, for comparisons with a fixed probe;
* coverage: for each threshold, the mean over the board-state properties of the best F1 any one
  feature reaches; the SAE's coverage is the best threshold's;
* board reconstruction: on the first half of the positions, each feature's *high-precision*
  properties are those it predicts with precision >= ``HIGH_PRECISION`` (firing at least
  ``MIN_FIRINGS`` times); on the second half a board-state property is predicted wherever any of
  its high-precision features fires; the F1 of those predictions over every (position, property)
  pair is the reconstruction F1 (threshold chosen on the first half).

Properties with fewer than ``MIN_POSITIVES`` positive positions (the centre squares are never
empty) are left out of coverage and reconstruction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.sae.training import collect_stream
from othello_core.model.evaluate import evaluate
from othello_core.rules.games import GameBatch
from othello_core.rules.notation import square_to_name

FAMILIES = ("empty", "mine", "theirs", "legal", "flipped", "last_move")
BOARD_FAMILIES = ("empty", "mine", "theirs")
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
HIGH_PRECISION = 0.95
MIN_FIRINGS = 10
MIN_POSITIVES = 20
DENSE_FRACTION = 0.5  # a feature active on more than this share of positions is "dense"


@lru_cache(maxsize=1)
def property_names() -> tuple[str, ...]:
    """``"e4 mine"``-style names, family-major: index ``family * 64 + square``."""
    return tuple(f"{square_to_name(s)} {family}" for family in FAMILIES for s in range(64))


def board_properties(batch: GameBatch, pick: np.ndarray) -> np.ndarray:
    """``[rows, 6 * 64]`` bool: every property at the (game, position) rows ``pick``."""
    lab = {k: v[pick[:, 0], pick[:, 1]] for k, v in batch.labels.items()}
    last = np.zeros((len(pick), 64), dtype=bool)
    last[np.arange(len(pick)), batch.squares[pick[:, 0], pick[:, 1]]] = True
    rel = lab["relative"]
    return np.concatenate([rel == 0, rel == 1, rel == 2, lab["legal"], lab["flipped"], last], axis=1)


@torch.no_grad()
def stream_and_features(model, sae, batch: GameBatch, hook: str, stream: int,
                        batch_games: int = 100) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """``(x [rows, d], features [rows, d_sae], pick [rows, 2])`` at every real position of ``batch``."""
    x = collect_stream(model, batch.squares, batch.lengths, hook, stream, batch_games, dtype=torch.float32)
    feats = torch.cat([sae.encode(x[s:s + 8192].to(sae.device)).cpu() for s in range(0, len(x), 8192)])
    return x, feats, real_positions(batch)


@torch.no_grad()
def reconstruction_stats(sae, x: torch.Tensor, feats: torch.Tensor) -> dict:
    """Explained variance, mean L0, dead and dense features, relative MSE."""
    recon = sae.decode(feats)
    resid = ((x - recon) ** 2).sum()
    total = ((x - x.mean(0)) ** 2).sum()
    active = feats > 0
    freq = active.float().mean(0)
    return {"explained_variance": float(1 - resid / total), "l0": float(active.sum(-1).float().mean()),
            "dead_features": int((freq == 0).sum()), "dense_features": int((freq > DENSE_FRACTION).sum()),
            "d_sae": int(feats.shape[1]), "positions": int(len(x)),
            "relative_mse": float(resid / (x ** 2).sum())}


def splice_hook(sae):
    """A TransformerLens hook that replaces the stream by the SAE's reconstruction of it."""
    def hook(x, hook=None):  # noqa: ARG001 (TransformerLens passes the hook point)
        return sae.decode(sae.encode(x.float().to(sae.device))).to(x.device, x.dtype)
    return hook


def spliced_legal_top1(service, sae, hook: str, batch: GameBatch) -> dict:
    """Legal top-1 of the model with and without the SAE spliced into ``hook``, on ``batch``."""
    plain = evaluate(lambda t: service.run(t)[0], batch)
    spliced = evaluate(lambda t: service.run(t, fwd_hooks=[(hook, splice_hook(sae))])[0], batch)
    return {"legal_top1_plain": plain["legal_top1"], "legal_top1_spliced": spliced["legal_top1"],
            "positions": plain["positions"], "games": plain["games"]}


def firing(feats: torch.Tensor, max_act: torch.Tensor, t: float) -> torch.Tensor:
    return (feats > torch.clamp(max_act * t, min=1e-6)).float()


def counts(feats: torch.Tensor, props: torch.Tensor, max_act: torch.Tensor, t: float, chunk: int = 8192):
    """``(true positives [F, P], firings [F])`` at threshold ``t``."""
    tp = torch.zeros(feats.shape[1], props.shape[1])
    fired = torch.zeros(feats.shape[1])
    for s in range(0, len(feats), chunk):
        on = firing(feats[s:s + chunk], max_act, t)
        tp += on.T @ props[s:s + chunk]
        fired += on.sum(0)
    return tp, fired


def f1_scores(tp: torch.Tensor, fired: torch.Tensor, positives: torch.Tensor):
    precision = tp / fired.clamp(min=1)[:, None]
    recall = tp / positives.clamp(min=1)[None]
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return precision, recall, f1


@torch.no_grad()
def board_state_metrics(feats: torch.Tensor, props: np.ndarray, progress: Callable | None = None) -> dict:
    """Per-property best features, per-feature best properties, coverage and reconstruction F1."""
    props_t = torch.as_tensor(props, dtype=torch.float32)
    positives = props_t.sum(0)
    board = torch.zeros(props.shape[1], dtype=torch.bool)
    board[: len(BOARD_FAMILIES) * 64] = True
    scored = board & (positives >= MIN_POSITIVES)
    max_act = feats.max(0).values
    half = len(feats) // 2
    fit_max = feats[:half].max(0).values
    n_f, n_p = feats.shape[1], props.shape[1]
    best = {"f1": torch.zeros(n_p), "precision": torch.zeros(n_p), "recall": torch.zeros(n_p),
            "feature": torch.full((n_p,), -1), "threshold": torch.zeros(n_p)}
    feat_best = {"f1": torch.zeros(n_f), "property": torch.full((n_f,), -1), "precision": torch.zeros(n_f),
                 "recall": torch.zeros(n_f)}
    coverage_by_t, recon_by_t = [], []
    chosen = {"fit_f1": torch.full((n_p,), -1.0), "feature": torch.zeros(n_p, dtype=torch.long),
              "threshold": torch.zeros(n_p)}  # per property, chosen on the first half only
    steps = THRESHOLDS if progress is None else progress(THRESHOLDS, desc="board-state metrics")
    for t in steps:
        tp, fired = counts(feats, props_t, max_act, t)
        precision, recall, f1 = f1_scores(tp, fired, positives)
        f1_max, f_arg = f1.max(0)  # per property
        better = f1_max > best["f1"]
        cols = torch.arange(n_p)
        for key, value in (("f1", f1_max), ("precision", precision[f_arg, cols]),
                           ("recall", recall[f_arg, cols]), ("feature", f_arg), ("threshold", torch.full((n_p,), t))):
            best[key] = torch.where(better, value.to(best[key].dtype), best[key])
        p_max, p_arg = f1.max(1)  # per feature
        rows = torch.arange(n_f)
        better_f = p_max > feat_best["f1"]
        for key, value in (("f1", p_max), ("property", p_arg), ("precision", precision[rows, p_arg]),
                           ("recall", recall[rows, p_arg])):
            feat_best[key] = torch.where(better_f, value.to(feat_best[key].dtype), feat_best[key])
        coverage_by_t.append(float(f1_max[scored].mean()))
        fit_tp, fit_fired = counts(feats[:half], props_t[:half], fit_max, t)
        fit_f1 = f1_scores(fit_tp, fit_fired, props_t[:half].sum(0))[2].max(0)
        take = fit_f1.values > chosen["fit_f1"]
        chosen["fit_f1"] = torch.where(take, fit_f1.values, chosen["fit_f1"])
        chosen["feature"] = torch.where(take, fit_f1.indices, chosen["feature"])
        chosen["threshold"] = torch.where(take, torch.full((n_p,), t), chosen["threshold"])
        recon_by_t.append(_reconstruction(feats, props_t, fit_max, t, half, scored, fit_tp, fit_fired))
    pick_t = int(np.argmax([r["fit_f1"] for r in recon_by_t]))
    return {
        "thresholds": list(THRESHOLDS), "coverage_by_threshold": coverage_by_t,
        "coverage": max(coverage_by_t), "coverage_threshold": THRESHOLDS[int(np.argmax(coverage_by_t))],
        "reconstruction_by_threshold": recon_by_t, "reconstruction_f1": recon_by_t[pick_t]["f1"],
        "reconstruction_threshold": THRESHOLDS[pick_t], "scored_properties": int(scored.sum()),
        "properties": {k: v.tolist() for k, v in best.items()}, "positives": positives.int().tolist(),
        "features": {k: v.tolist() for k, v in feat_best.items()},
        "held_out": _held_out_f1(feats[half:], props_t[half:], fit_max, chosen),
    }


def _held_out_f1(feats: torch.Tensor, props: torch.Tensor, fit_max: torch.Tensor, chosen: dict) -> dict:
    """Per property, the F1 on the second half of the (feature, threshold) chosen on the first: the
    best-feature F1 without the selection's optimism (for comparing with a fixed probe)."""
    on = feats[:, chosen["feature"]] > torch.clamp(fit_max[chosen["feature"]] * chosen["threshold"], min=1e-6)
    truth = props > 0
    tp = (on & truth).sum(0).float()
    f1 = 2 * tp / (on.sum(0) + truth.sum(0)).clamp(min=1).float()
    return {"f1": f1.tolist(), "feature": chosen["feature"].tolist(), "threshold": chosen["threshold"].tolist(),
            "positives": truth.sum(0).int().tolist()}


def _reconstruction(feats, props, fit_max, t: float, half: int, scored: torch.Tensor, tp: torch.Tensor,
                    fired: torch.Tensor) -> dict:
    """Reconstruction F1 at threshold ``t``: high-precision features found on the first half,
    scored on the second (and, to choose ``t``, on the first). ``tp``/``fired``: the first half's counts."""
    precision = tp / fired.clamp(min=1)[:, None]
    high = (precision >= HIGH_PRECISION) & (fired >= MIN_FIRINGS)[:, None] & scored[None]  # [F, P]
    out = {"high_precision_pairs": int(high.sum()), "features_used": int(high.any(1).sum())}
    for name, part in (("fit_f1", slice(0, half)), ("f1", slice(half, None))):
        on = firing(feats[part], fit_max, t)
        predicted = (on @ high.float()) > 0  # [rows, P]
        truth = props[part] > 0
        predicted, truth = predicted[:, scored], truth[:, scored]
        hit = (predicted & truth).sum().item()
        out[name] = 2 * hit / max(predicted.sum().item() + truth.sum().item(), 1)
    return out


# The linear probe kind (and its class) that reads each property family; last_move has no probe.
PROBE_READS = {"empty": ("mine_theirs", 0), "mine": ("mine_theirs", 1), "theirs": ("mine_theirs", 2),
               "legal": ("legal", 1), "flipped": ("flipped", 1)}


@torch.no_grad()
def probe_property_f1(probes, x: torch.Tensor, props: np.ndarray, stream: int) -> list[float | None]:
    """Per property, the F1 of the shipped linear probe at ``stream`` read as a detector (its
    argmax class is the property's class); ``None`` where no probe reads the family."""
    out: list[float | None] = []
    argmax = {kind: probes.linear_probs(kind, x[None], streams=[stream])[0].argmax(-1).numpy()
              for kind in {k for k, _ in PROBE_READS.values()} if kind in probes.linear}  # [rows, 64]
    for i, family in enumerate(FAMILIES):
        truth = props[:, i * 64:(i + 1) * 64]
        kind, cls = PROBE_READS.get(family, (None, None))
        if kind not in argmax:
            out += [None] * 64
            continue
        predicted = argmax[kind] == cls
        tp = (predicted & truth).sum(0)
        f1 = 2 * tp / np.maximum(predicted.sum(0) + truth.sum(0), 1)
        out += [float(v) for v in f1]
    return out
