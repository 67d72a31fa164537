"""``sae report``: every metric of one SAE on held-out games, and what the app ships beside it.

``measure_sae`` returns a JSON-ready report (the numbers ``sae report --json`` prints and the
Features page shows); ``top_positions`` the highest-activating held-out positions of every feature
(shipped as ``top_positions.npz`` so the page draws them without running the model on many games).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from othello_core.rules.games import GameBatch, random_games
from othello_core.analysis.sae import metrics
from othello_core.analysis.sae.recipe import SAE_TEST_SEED

REPORT_FILE = "report.json"
TOP_FILE = "top_positions.npz"
TOP_K = 8


def measurement_games(n: int, seed: int = SAE_TEST_SEED) -> GameBatch:
    """The held-out games every SAE metric is measured on (never trained on)."""
    return random_games(n, seed=seed, labels=True)


def family_summary(best: dict, positives: list[int]) -> dict:
    """Mean and median best-feature F1 per property family (properties with enough positives)."""
    f1 = np.asarray(best["f1"]).reshape(len(metrics.FAMILIES), 64)
    pos = np.asarray(positives).reshape(len(metrics.FAMILIES), 64)
    out = {}
    for i, family in enumerate(metrics.FAMILIES):
        keep = pos[i] >= metrics.MIN_POSITIVES
        out[family] = {"mean_f1": float(f1[i][keep].mean()), "median_f1": float(np.median(f1[i][keep])),
                       "properties": int(keep.sum()), "above_0.9": int((f1[i][keep] >= 0.9).sum())}
    return out


@torch.no_grad()
def measure_sae(service, sae, hook: str, stream: int, batch: GameBatch, progress: Callable | None = None,
                splice_games: int | None = None) -> tuple[dict, torch.Tensor, np.ndarray]:
    """``(report, features [rows, d_sae], pick [rows, 2])`` of ``sae`` on ``batch``."""
    with service.locked() as model:
        x, feats, pick = metrics.stream_and_features(model, sae, batch, hook, stream)
    report = {"reconstruction": metrics.reconstruction_stats(sae, x, feats)}
    splice_batch = batch if splice_games is None else GameBatch(
        batch.squares[:splice_games], batch.lengths[:splice_games],
        {k: v[:splice_games] for k, v in batch.labels.items()})
    report["splice"] = metrics.spliced_legal_top1(service, sae, hook, splice_batch)
    props = metrics.board_properties(batch, pick)
    board = metrics.board_state_metrics(feats, props, progress)
    report["board"] = {k: v for k, v in board.items() if k not in ("properties", "features", "positives", "held_out")}
    report["held_out_properties"] = board["held_out"]
    report["families"] = family_summary(board["properties"], board["positives"])
    if service.probes is not None:  # scored on the same second half as the SAE's held-out choice
        half = len(x) // 2
        report["probe_properties"] = {"stream": stream, "positions": "second half",
                                      "f1": metrics.probe_property_f1(service.probes, x[half:], props[half:], stream)}
    report["properties"] = board["properties"]
    report["positives"] = board["positives"]
    report["features"] = board["features"]
    report["features"]["frequency"] = (feats > 0).float().mean(0).tolist()
    report["features"]["max_activation"] = feats.max(0).values.tolist()
    report["games"] = {"n": len(batch), "seed": SAE_TEST_SEED, "positions": int(len(pick))}
    return report, feats, pick


def top_positions(feats: torch.Tensor, pick: np.ndarray, batch: GameBatch, k: int = TOP_K) -> dict:
    """Per feature, its ``k`` highest-activating positions: game moves + position + activation."""
    values, rows = feats.topk(k, dim=0)  # [k, F]
    rows = rows.T.numpy()  # [F, k]
    games = np.unique(pick[rows.ravel(), 0])
    index = {g: i for i, g in enumerate(games)}
    return {"squares": batch.squares[games].astype(np.int8),  # [games, 60], -1 after the end
            "game": np.vectorize(index.get)(pick[rows, 0]).astype(np.int32),  # [F, k] rows of squares
            "position": pick[rows, 1].astype(np.int8), "activation": values.T.numpy().astype(np.float16)}


def save_top_positions(top: dict, folder: Path | str) -> Path:
    path = Path(folder) / TOP_FILE
    np.savez_compressed(path, **top)
    return path


def load_top_positions(folder: Path | str) -> dict[str, np.ndarray]:
    with np.load(Path(folder) / TOP_FILE) as data:
        return {k: data[k] for k in data.files}


def metric_rows(report: dict, control: dict | None) -> list[dict]:
    """The headline metrics, trained SAE beside the control's, as table rows. Coverage and reconstruction here
    are this project's six-family variant (``metrics``); Karvonen et al.'s own definitions, comparable with
    their published figures, are ``karvonen.table_rows``."""
    def pick(r: dict | None, path: tuple[str, str]):
        return None if r is None else r[path[0]][path[1]]
    rows = [("explained variance", ("reconstruction", "explained_variance")),
            ("L0 (active features per position)", ("reconstruction", "l0")),
            ("dead features", ("reconstruction", "dead_features")),
            (f"dense features (> {metrics.DENSE_FRACTION:.0%} of positions)", ("reconstruction", "dense_features")),
            ("legal top-1, model alone", ("splice", "legal_top1_plain")),
            ("legal top-1, SAE spliced in", ("splice", "legal_top1_spliced")),
            ("coverage (empty/mine/theirs, this project's variant)", ("board", "coverage")),
            ("board reconstruction F1 (empty/mine/theirs, split positions)", ("board", "reconstruction_f1"))]
    return [{"metric": name, "trained model": pick(report, path), "random-init control": pick(control, path)}
            for name, path in rows]


def _cell(value, percent: bool = False) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value:.2%}"
    if isinstance(value, float) and value <= 1.0:
        return f"{value:.4f}" if value > 0.99 else f"{value:.3f}"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def markdown_table(report: dict, control: dict | None) -> str:
    """The headline metrics as the README's markdown table (``sae report --markdown`` prints it)."""
    rows = metric_rows(report, control)
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join([row["metric"]] + [_cell(row[k], row["metric"].startswith("legal top-1"))
                                                   for k in head[1:]]) + " |" for row in rows]
    return "\n".join(lines)
