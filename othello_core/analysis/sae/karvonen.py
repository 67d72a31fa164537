"""Karvonen et al.'s (2024) board-state metrics, on their own definitions, for any features.

"Features" are any non-negative-ish activations ``[positions, n]``: an SAE's features, or a layer's MLP
neurons (their baseline). Properties follow SAE_BoardGameEval:

* the board: 128 properties, each square ``mine`` or ``theirs`` relative to the player to move (the
  empty class is dropped); legal moves: 64 properties, scored apart (squares never legal on the
  fitting games -- the centre -- are left out);
* a feature fires at threshold ``t`` when its activation exceeds ``t`` times its largest activation on
  the fitting games, for ``t`` in 0, 0.1 ... 0.9;
* coverage (fitting games): for each ``t``, the mean over properties of the best single feature's F1;
  the coverage is that mean at the best ``t``;
* board reconstruction: on the fitting games, a feature is labelled with every property it predicts at
  precision >= 0.95 while firing at least 10 times; on the held-out games a property is predicted
  wherever any feature labelled with it fires; the micro F1 over every (position, property) pair,
  at the best ``t``.
"""

from __future__ import annotations

import numpy as np
import torch

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.sae.training import collect_stream
from othello_core.analysis.sae.metrics import HIGH_PRECISION, MIN_FIRINGS, THRESHOLDS, counts, f1_scores, firing
from othello_core.rules.games import GameBatch
from othello_core.rules.vocab import MINE, THEIRS

KARVONEN_FILE = "karvonen.json"
GROUPS = ("board", "legal")  # the 128 mine/theirs properties; the 64 legal-move properties
# SAE_BoardGameEval's saved results for Othello (Karvonen et al. 2024; 300M training tokens; SAEs and
# neurons read blocks.5: the SAEs blocks.5.hook_resid_post, the neurons blocks.5.mlp.hook_post)
PUBLISHED = {
    "best_coverage": {"value": 0.519, "what": "best trained SAE (gated)"},
    "best_reconstruction": {"value": 0.954, "what": "best trained SAE (standard; p-annealing 0.953)"},
    "topk": {"coverage": 0.494, "reconstruction": 0.870, "what": "trained TopK SAE"},
    "random_init": {"coverage": 0.272, "reconstruction": 0.082, "what": "SAEs on a random-init model"},
    "mlp_neurons": {"coverage": 0.529, "reconstruction": 0.815, "what": "layer-5 MLP neurons as features"},
}


def karvonen_properties(batch: GameBatch, pick: np.ndarray) -> dict[str, np.ndarray]:
    """``{"board": [rows, 128] (mine a1..h8, then theirs), "legal": [rows, 64]}`` at the rows ``pick``."""
    rel = batch.labels["relative"][pick[:, 0], pick[:, 1]]
    legal = batch.labels["legal"][pick[:, 0], pick[:, 1]]
    return {"board": np.concatenate([rel == MINE, rel == THEIRS], axis=1), "legal": legal.astype(bool)}


DENSE = 0.5  # a "dense" best feature fires on at least half the fitting positions


@torch.no_grad()
def coverage(feats: torch.Tensor, props: torch.Tensor, max_act: torch.Tensor) -> dict:
    """Per threshold, the mean over properties of the best single feature's F1; the best of them. With it,
    how often each property's best feature fires there: ``dense_best`` is the share of properties whose best
    feature fires on at least half the positions (a feature firing everywhere scores F1 = 2p / (1 + p) on a
    property of prevalence p, with no knowledge of the board), and the median firing rate."""
    by_t, rates = [], []
    for t in THRESHOLDS:
        tp, fired = counts(feats, props, max_act, t)
        f1 = f1_scores(tp, fired, props.sum(0))[2].max(0)
        by_t.append(float(f1.values.mean()))
        rates.append(fired[f1.indices] / len(feats))  # [P] the best feature's firing rate
    best = int(np.argmax(by_t))
    return {"value": by_t[best], "threshold": THRESHOLDS[best], "by_threshold": by_t,
            "dense_best": float((rates[best] >= DENSE).float().mean()),
            "median_best_firing_rate": float(rates[best].median())}


def always_fires_coverage(props: np.ndarray) -> float:
    """The coverage of one feature that fires on every position: the mean over properties (those present) of
    F1 = 2p / (1 + p), p the property's prevalence -- what coverage grants with no knowledge at all."""
    p = np.asarray(props, bool).mean(0)
    p = p[p > 0]
    return float(np.mean(2 * p / (1 + p)))


def move_history_features(batch: GameBatch, pick: np.ndarray, plies: int = 1) -> torch.Tensor:
    """``[rows, 64 * plies]`` one-hot features of the squares played at the last ``plies`` moves (the move just
    played first): features that read the tokens alone, no board state. A baseline for coverage."""
    out = torch.zeros(len(pick), 64 * plies)
    for k in range(plies):
        pos = pick[:, 1] - k
        has = pos >= 0
        squares = batch.squares[pick[has, 0], pos[has]]
        out[np.flatnonzero(has), k * 64 + squares] = 1.0
    return out


@torch.no_grad()
def board_reconstruction(fit_feats: torch.Tensor, fit_props: torch.Tensor, test_feats: torch.Tensor,
                         test_props: torch.Tensor, max_act: torch.Tensor, chunk: int = 8192) -> dict:
    """Per threshold, the micro F1 on the held-out rows of predicting each property wherever a feature
    labelled with it (precision >= 0.95, >= 10 firings on the fitting rows) fires; the best of them."""
    by_t, labelled = [], []
    truth = test_props > 0
    for t in THRESHOLDS:
        tp, fired = counts(fit_feats, fit_props, max_act, t)
        precision = tp / fired.clamp(min=1)[:, None]
        label = ((precision >= HIGH_PRECISION) & (fired >= MIN_FIRINGS)[:, None]).float()  # [F, P]
        hit = predicted_n = 0
        for s in range(0, len(test_feats), chunk):
            predicted = (firing(test_feats[s:s + chunk], max_act, t) @ label) > 0
            hit += int((predicted & truth[s:s + chunk]).sum())
            predicted_n += int(predicted.sum())
        by_t.append(2 * hit / max(predicted_n + int(truth.sum()), 1))
        labelled.append(int(label.any(1).sum()))
    best = int(np.argmax(by_t))
    return {"value": by_t[best], "threshold": THRESHOLDS[best], "by_threshold": by_t,
            "labelled_features": labelled[best]}


def karvonen_metrics(fit_feats: torch.Tensor, fit_props: dict[str, np.ndarray], test_feats: torch.Tensor,
                     test_props: dict[str, np.ndarray]) -> dict:
    """Coverage and board reconstruction for the 128 board properties and, apart, the legal moves.
    Maxima are the fitting rows'; properties with no positive fitting row are left out (and counted)."""
    fit_feats, test_feats = fit_feats.float(), test_feats.float()
    max_act = fit_feats.max(0).values
    out = {"fitting_positions": len(fit_feats), "held_out_positions": len(test_feats), "features": fit_feats.shape[1]}
    for group in GROUPS:
        keep = fit_props[group].any(0)
        fit = torch.as_tensor(fit_props[group][:, keep], dtype=torch.float32)
        test = torch.as_tensor(test_props[group][:, keep], dtype=torch.float32)
        out[group] = {"properties": int(keep.sum()), "coverage": coverage(fit_feats, fit, max_act),
                      "reconstruction": board_reconstruction(fit_feats, fit, test_feats, test, max_act)}
    return out


def baseline_rows(fit: GameBatch, test: GameBatch, plies: tuple[int, ...] = (1, 4)) -> list[dict]:
    """Rows for features that know no board state: one that always fires, and the last moves one-hot."""
    fit_pick, test_pick = real_positions(fit), real_positions(test)
    fit_props, test_props = karvonen_properties(fit, fit_pick), karvonen_properties(test, test_pick)
    rows = [{"name": "baseline: one feature that always fires", "hook": "no model",
             **karvonen_metrics(torch.ones(len(fit_pick), 1), fit_props, torch.ones(len(test_pick), 1), test_props)}]
    for k in plies:
        rows.append({"name": f"baseline: the last {k} move{'s' if k > 1 else ''} one-hot ({64 * k} features)",
                     "hook": "tokens only",
                     **karvonen_metrics(move_history_features(fit, fit_pick, k), fit_props,
                                        move_history_features(test, test_pick, k), test_props)})
    return rows


def measure_features(model, name: str, hook: str, encode, fit: GameBatch, test: GameBatch) -> dict:
    """Karvonen's metrics of the features ``encode`` makes of ``model``'s ``hook`` (identity: its neurons)."""
    block = int(hook.split(".")[1])  # the forward stops after the hook's block
    fit_feats, test_feats = (encode(collect_stream(model, b.squares, b.lengths, hook, block + 1, 100).float())
                             for b in (fit, test))
    out = karvonen_metrics(fit_feats, karvonen_properties(fit, real_positions(fit)), test_feats,
                           karvonen_properties(test, real_positions(test)))
    return {"name": name, "hook": hook, **out}


COLUMNS = ("board coverage", "board reconstruction", "legal coverage", "legal reconstruction")


def table_rows(stored: dict) -> list[dict]:
    """``karvonen.json`` as table rows: every measured feature set, then the published figures."""
    rows = [{"features": f"{r['name']} · {r['hook']}",
             **dict(zip(COLUMNS, (r["board"]["coverage"]["value"], r["board"]["reconstruction"]["value"],
                                  r["legal"]["coverage"]["value"], r["legal"]["reconstruction"]["value"])))}
            for r in stored["rows"]]
    published = stored["published"]
    rows += [{"features": f"Karvonen et al.: {published['best_coverage']['what']}",
              **dict(zip(COLUMNS, (published["best_coverage"]["value"], None, None, None)))},
             {"features": f"Karvonen et al.: {published['best_reconstruction']['what']}",
              **dict(zip(COLUMNS, (None, published["best_reconstruction"]["value"], None, None)))}]
    rows += [{"features": f"Karvonen et al.: {published[key]['what']}",
              **dict(zip(COLUMNS, (published[key]["coverage"], published[key]["reconstruction"], None, None)))}
             for key in ("topk", "mlp_neurons", "random_init")]
    return rows


def markdown(stored: dict) -> str:
    """The README's table of Karvonen's metrics (``sae karvonen --markdown`` prints it from ``karvonen.json``)."""
    head = ["features", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for row in table_rows(stored):
        lines.append("| " + " | ".join([row["features"]] + ["—" if row[c] is None else f"{row[c]:.3f}"
                                                          for c in COLUMNS]) + " |")
    return "\n".join(lines)
