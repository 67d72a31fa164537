"""What the Features page reads: the SAE of a model with its measurements, the features active at a
position, one feature's card, and steering (ablate a feature, or add its decoder direction).

Steering runs through ``ModelService.run``'s hooks, under the service's lock, so two browser
sessions never see each other's edits (the hooks are removed before the lock is released).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from othello_core.model.evaluate import move_log_probs
from othello_core.rules.board import replay
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import colour_classes, moves_to_tokens, token_probs_to_squares
from othello_core.analysis.sae import metrics
from othello_core.analysis.sae.karvonen import KARVONEN_FILE
from othello_core.analysis.sae.recipe import SAERecipe, sae_folder
from othello_core.analysis.sae.report import REPORT_FILE, TOP_FILE, load_top_positions
from othello_core.analysis.sae.training import load_sae

STEER_MODES = ("ablate", "add")


@dataclass
class FeatureSet:
    """An SAE, its report and its shipped top positions (``control_report`` when measured)."""

    sae: object  # sae_lens.SAE
    folder: Path
    hook: str
    stream: int
    report: dict
    top: dict[str, np.ndarray]
    control_report: dict | None = None
    karvonen: dict | None = None  # karvonen.json: Karvonen et al.'s metrics (``sae karvonen``) when measured

    @property
    def d_sae(self) -> int:
        return int(self.sae.cfg.d_sae)

    def best_property(self, feature: int) -> tuple[str, float, float, float]:
        """(property name, precision, recall, F1) of the property ``feature`` tracks best."""
        f = self.report["features"]
        prop = int(f["property"][feature])
        return (metrics.property_names()[prop] if prop >= 0 else "nothing",
                float(f["precision"][feature]), float(f["recall"][feature]), float(f["f1"][feature]))

    def describe(self, feature: int) -> str:
        """One line about ``feature``, written from its measured numbers."""
        freq = float(self.report["features"]["frequency"][feature])
        if freq == 0:
            return "dead on the held-out games: never fires"
        name, precision, recall, f1 = self.best_property(feature)
        where = f"fires on {freq:.1%} of positions"
        if f1 >= 0.9:
            return f"a **{name}** detector (F1 {f1:.2f}); {where}"
        if precision >= 0.9:
            return f"fires only when **{name}** (precision {precision:.2f}) but on {recall:.0%} of those positions; {where}"
        if recall >= 0.9:
            return f"fires whenever **{name}** (recall {recall:.2f}) and elsewhere too (precision {precision:.2f}); {where}"
        if f1 >= 0.5:
            return f"partly tracks **{name}** (F1 {f1:.2f}); {where}"
        return f"no single board property (best: {name}, F1 {f1:.2f}); {where}"


def load_feature_set(model_folder: Path | str, hook: str = SAERecipe().hook, device: str = "cpu") -> FeatureSet:
    """The SAE shipped beside a model; ``FileNotFoundError`` says how to make it when absent."""
    folder = sae_folder(model_folder, hook)
    if not (folder / "cfg.json").exists():
        raise FileNotFoundError(f"no SAE in {folder}: train one with `python -m othello_core sae train` "
                                "then measure it with `python -m othello_core sae report`")
    if not (folder / REPORT_FILE).exists() or not (folder / TOP_FILE).exists():
        raise FileNotFoundError(f"the SAE in {folder} has not been measured: run `python -m othello_core sae report`")
    report = json.loads((folder / REPORT_FILE).read_text())
    control_path = sae_folder(model_folder, hook, control=True) / REPORT_FILE
    control = json.loads(control_path.read_text()) if control_path.exists() else None
    stream = int(report["training"]["recipe"]["stream"])
    karvonen = json.loads((folder / KARVONEN_FILE).read_text()) if (folder / KARVONEN_FILE).exists() else None
    return FeatureSet(load_sae(folder, device=device), folder, hook, stream, report, load_top_positions(folder), control,
                      karvonen)


@torch.no_grad()
def encode(features: FeatureSet, resid: np.ndarray) -> np.ndarray:
    """``[pos, d_model]`` stream vectors (``Analysis.resid[stream]``) -> ``[pos, d_sae]`` activations."""
    x = torch.as_tensor(resid, dtype=torch.float32, device=features.sae.device)
    return features.sae.encode(x).cpu().numpy()


def active_features(acts: np.ndarray, k: int = 12) -> list[tuple[int, float]]:
    """The ``k`` most active features of one position ``[d_sae]``, strongest first (active only)."""
    order = np.argsort(-acts)[:k]
    return [(int(f), float(acts[f])) for f in order if acts[f] > 0]


def feature_row(features: FeatureSet, feature: int, activation: float) -> dict:
    """One row of the page's table of active features."""
    name, precision, recall, _ = features.best_property(feature)
    return {"feature": feature, "activation": round(activation, 3), "tracks": name, "precision": round(precision, 2),
            "recall": round(recall, 2), "what it is": features.describe(feature).replace("**", "")}


def decoder_direction(features: FeatureSet, feature: int) -> torch.Tensor:
    return features.sae.W_dec[feature].detach().float()


def probe_cosines(features: FeatureSet, probes, feature: int, kind: str = "mine_theirs") -> np.ndarray:
    """``[64, classes]`` cosine of the feature's decoder direction with each class direction of the
    linear probe of ``kind`` at the SAE's stream (each class weight minus the mean of the classes)."""
    w, _ = probes.linear[kind]
    w = w[features.stream]  # [d, 64, C]
    w = w - w.mean(-1, keepdim=True)
    d = decoder_direction(features, feature).to(w.device)
    cos = torch.einsum("d,dsc->sc", d, w) / (d.norm() * w.norm(dim=0)).clamp(min=1e-9)
    return cos.numpy()


def direct_logit_effect(features: FeatureSet, model, feature: int) -> np.ndarray:
    """``[64]`` per square: the feature's decoder direction through the unembedding (W_U), padding
    token dropped, centred over the moves: what the direction alone adds to each move's logit."""
    w_u = model.W_U.detach().float()
    effect = (decoder_direction(features, feature).to(w_u.device) @ w_u).cpu().numpy()  # [61]
    effect = effect[1:] - effect[1:].mean()
    return token_probs_to_squares(np.concatenate([[0.0], effect]))


def steering_hook(features: FeatureSet, feature: int, mode: str, scale: float, position: int | None):
    """A hook on the SAE's stream: ``ablate`` removes the feature's contribution (its activation
    times its decoder direction), ``add`` adds ``scale`` times the decoder direction scaled to the
    norm at each position (so a position's edit never depends on the moves after it); at ``position``
    only, or everywhere when ``None``."""
    if mode not in STEER_MODES:
        raise ValueError(f"mode must be one of {STEER_MODES}, not {mode!r}")
    direction = decoder_direction(features, feature)

    def hook(x, hook=None):  # noqa: ARG001
        rows = slice(None) if position is None else slice(position, position + 1)
        part = x[:, rows].float()
        d = direction.to(x.device)
        if mode == "ablate":
            acts = features.sae.encode(part.to(features.sae.device))[..., feature].to(x.device)  # [batch, pos]
            delta = -acts[..., None] * d
        else:
            delta = scale * part.norm(dim=-1, keepdim=True) * d / d.norm()
        x = x.clone()
        x[:, rows] = (part + delta).to(x.dtype)
        return x
    return hook


def steered_probs(service, features: FeatureSet, moves, position: int, feature: int, mode: str,
                  scale: float = 1.0, everywhere: bool = False) -> np.ndarray:
    """Move probabilities ``[64]`` at ``position`` with one feature steered (the unsteered ones are
    ``service.analyze(moves).move_probs[position]``)."""
    tokens = torch.tensor([moves_to_tokens(moves, min(len(moves), MODEL_CONTEXT))])
    hook = steering_hook(features, feature, mode, scale, None if everywhere else position)
    logits, _ = service.run(tokens, fwd_hooks=[(features.hook, hook)])
    return token_probs_to_squares(move_log_probs(logits[0, position]).exp().cpu().numpy())


def top_position_boards(features: FeatureSet, feature: int) -> list[dict]:
    """The shipped top-activating held-out positions of ``feature``: board cells, the last move,
    the moves so far and the activation, strongest first (empty for a dead feature)."""
    top = features.top
    out = []
    for game, position, activation in zip(top["game"][feature], top["position"][feature],
                                          top["activation"][feature].astype(float)):
        if activation <= 0:
            continue
        moves = [int(s) for s in top["squares"][game][: int(position) + 1]]
        board = replay(moves).board
        out.append({"cells": colour_classes([board.cell(s) for s in range(64)]), "last_move": moves[-1],
                    "moves": moves, "position": int(position), "activation": float(activation)})
    return out
