"""Rule labels for any units -- MLP neurons, SAE features, transcoder features -- from the board state.

For every unit, a depth-limited decision tree (scikit-learn's ``DecisionTreeRegressor``) is fitted from
the board's 384 binary properties at each position (``sae.metrics.board_properties``: each square empty,
mine or theirs relative to the player to move, a legal move, flipped by the last move, the last move) to
the unit's activation there, on fitting positions; its R^2 is scored on held-out positions of other
games (the measure of arXiv 2511.00059, who explain 913 of 2,048 layer-5 neurons at R^2 > 0.7).

The label is the path to the leaf where the unit is most active, read as a conjunction:
``fires when c3 empty, d4 theirs, not e5 mine``. Stored compactly per unit: the R^2, the path as signed
property indices (``+(p + 1)`` the property holds, ``-(p + 1)`` it does not, 0 padding), the leaf's mean
activation and share of fitting positions; beside it the single property the unit detects best (F1 of
"active above half its maximum" against each property, on the held-out positions): the label a graph
node or a search shows when no rule explains the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from othello_core.analysis.sae.metrics import FAMILIES, property_names

RULE_DEPTH = 3
MIN_LEAF = 25  # positions per leaf: a rule never rests on a handful of positions
MIN_GAIN = 0.005  # a split must explain at least this share of the unit's variance (else the rule names noise)
FIRE_FRACTION = 0.5  # "active" for the best-property F1: above this share of the unit's largest activation
EXPLAINED_R2 = 0.7  # arXiv 2511.00059's bar for an explained neuron
PROPERTY_FAMILIES = FAMILIES  # empty, mine, theirs, legal, flipped, last_move (64 squares each)
LABEL_FIT_SEED, LABEL_TEST_SEED = 93_001, 93_002  # fresh games: trees fitted on one set, scored on the other


@dataclass(frozen=True)
class UnitLabels:
    """Labels of ``n`` units (one layer's neurons, an SAE, one transcoder), arrays of length ``n``."""

    r2: np.ndarray  # [n] float32: held-out R^2 of the tree
    path: np.ndarray  # [n, RULE_DEPTH] int16: signed property indices to the most active leaf
    leaf_mean: np.ndarray  # [n] float32: mean activation in that leaf (fitting positions)
    leaf_share: np.ndarray  # [n] float32: share of fitting positions in that leaf
    best_property: np.ndarray  # [n] int16: the property the unit detects best (held-out F1)
    best_f1: np.ndarray  # [n] float32

    def rule(self, unit: int) -> str:
        return rule_text(self.path[unit])

    def best(self, unit: int) -> str:
        return f"{property_names()[int(self.best_property[unit])]} (F1 {self.best_f1[unit]:.2f})"

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {prefix + k: getattr(self, k) for k in ("r2", "path", "leaf_mean", "leaf_share", "best_property",
                                                      "best_f1")}

    @classmethod
    def from_arrays(cls, data, prefix: str = "") -> "UnitLabels":
        return cls(**{k: np.asarray(data[prefix + k]) for k in ("r2", "path", "leaf_mean", "leaf_share",
                                                               "best_property", "best_f1")})


def rule_text(path: np.ndarray) -> str:
    """``fires when c3 empty, d4 theirs, not e5 mine`` from a signed path (``always`` for a tree with no split).

    >>> names = property_names()
    >>> rule_text(np.array([names.index("c3 empty") + 1, -(names.index("e5 mine") + 1), 0]))
    'fires when c3 empty, not e5 mine'
    """
    names = property_names()
    parts = [("" if p > 0 else "not ") + names[abs(int(p)) - 1] for p in path if p != 0]
    return "fires when " + ", ".join(parts) if parts else "fires everywhere alike (no split helps)"


def _most_active_path(tree) -> tuple[list[int], int]:
    """Signed property indices from the root to the leaf of highest mean value, and that leaf."""
    t = tree.tree_
    leaves = np.flatnonzero(t.children_left == -1)
    leaf = int(leaves[np.argmax(t.value[leaves, 0, 0])])
    parent = {int(c): (n, +1) for n, c in enumerate(t.children_right) if c != -1}
    parent |= {int(c): (n, -1) for n, c in enumerate(t.children_left) if c != -1}
    path, node = [], leaf
    while node in parent:  # binary properties split at 0.5: right = the property holds
        node, sign = parent[node]
        path.append(sign * (int(t.feature[node]) + 1))
    return path[::-1], leaf


def fit_rule(x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
             depth: int = RULE_DEPTH) -> tuple[float, list[int], float, float]:
    """(held-out R^2, signed path, leaf mean, leaf share) of one unit's tree."""
    from sklearn.tree import DecisionTreeRegressor
    tree = DecisionTreeRegressor(max_depth=depth, min_samples_leaf=MIN_LEAF, random_state=0,
                                 min_impurity_decrease=MIN_GAIN * float(y_fit.var())).fit(x_fit, y_fit)
    r2 = float(tree.score(x_test, y_test)) if np.ptp(y_test) > 0 else 0.0
    path, leaf = _most_active_path(tree)
    t = tree.tree_
    return r2, path, float(t.value[leaf, 0, 0]), float(t.n_node_samples[leaf] / t.n_node_samples[0])


def best_properties(acts: np.ndarray, props: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the property of highest F1 when "active" means above ``FIRE_FRACTION`` of its maximum."""
    top = acts.max(0)
    on = (acts > np.maximum(top * FIRE_FRACTION, 1e-6)).astype(np.float32)  # [rows, n]
    p = props.astype(np.float32)
    tp = on.T @ p  # [n, P]
    fired, positives = on.sum(0)[:, None], p.sum(0)[None]
    f1 = 2 * tp / np.maximum(fired + positives, 1)
    return f1.argmax(1).astype(np.int16), f1.max(1).astype(np.float32)


def label_units(fit_acts: np.ndarray, fit_props: np.ndarray, test_acts: np.ndarray, test_props: np.ndarray,
                depth: int = RULE_DEPTH, progress: Callable | None = None, desc: str = "units") -> UnitLabels:
    """Labels of every unit (columns of the activations ``[rows, n]``); properties ``[rows, 384]`` bool."""
    n = fit_acts.shape[1]
    r2 = np.zeros(n, np.float32)
    path = np.zeros((n, depth), np.int16)
    leaf_mean, leaf_share = np.zeros(n, np.float32), np.zeros(n, np.float32)
    x_fit, x_test = fit_props.astype(np.float32), test_props.astype(np.float32)
    units = range(n)
    for u in (progress(units, desc=desc, total=n) if progress else units):
        if np.ptp(fit_acts[:, u]) == 0:  # a unit that never varies has no rule (R^2 0, empty path)
            continue
        r2[u], steps, leaf_mean[u], leaf_share[u] = fit_rule(x_fit, fit_acts[:, u], x_test, test_acts[:, u], depth)
        path[u, :len(steps)] = steps
    best, f1 = best_properties(test_acts, test_props)
    return UnitLabels(r2, path, leaf_mean, leaf_share, best, f1)


def explained_share(fit_acts: np.ndarray, fit_props: np.ndarray, test_acts: np.ndarray, test_props: np.ndarray,
                    depth: int, progress: Callable | None = None, desc: str = "units") -> dict:
    """How many units a tree of ``depth`` explains (held-out R^2 > ``EXPLAINED_R2``), and the median R^2: the
    measure ``label_units`` stores, at another depth (``labels depth`` sweeps depth and the fitting games)."""
    r2 = label_units(fit_acts, fit_props, test_acts, test_props, depth, progress, desc).r2
    n = len(r2)
    return {"depth": depth, "units": n, "explained": int((r2 > EXPLAINED_R2).sum()),
            "share": round(float((r2 > EXPLAINED_R2).mean()), 4), "median_r2": round(float(np.median(r2)), 4)}


def mentions(labels: UnitLabels, prop: int) -> np.ndarray:
    """Units whose rule names property ``prop`` as holding, or whose best property it is: ``[n]`` bool."""
    return (labels.path == prop + 1).any(1) | (labels.best_property == prop)


def save_labels(path: Path | str, sets: dict[str, UnitLabels], info: dict) -> Path:
    """Several label sets (e.g. ``L0`` .. ``L7``) in one compressed ``.npz`` with ``info`` as JSON."""
    import json
    arrays = {}
    for name, labels in sets.items():
        arrays |= labels.arrays(f"{name}/")
    np.savez_compressed(path, info=np.array(json.dumps(info | {"sets": list(sets)})), **arrays)
    return Path(path)


def load_labels(path: Path | str) -> tuple[dict[str, UnitLabels], dict]:
    import json
    with np.load(path) as data:
        info = json.loads(str(data["info"]))
        return {name: UnitLabels.from_arrays(data, f"{name}/") for name in info["sets"]}, info


UNIT_KINDS = ("neurons", "sae", "transcoders")
LABELS_FOLDER = "labels"


def labels_file(model_folder, kind: str) -> Path:
    """``<model folder>/labels/<kind>.npz``."""
    return Path(model_folder) / LABELS_FOLDER / f"{kind}.npz"


def shipped_labels(model_folder, kinds=UNIT_KINDS) -> dict[str, dict[str, UnitLabels] | None]:
    """The labels stored beside a model, by kind (``neurons``, ``sae``, ``transcoders``): None where not fitted."""
    return {k: load_labels(labels_file(model_folder, k))[0] if labels_file(model_folder, k).exists() else None
            for k in kinds}


def unit_activations(model, kind: str, batch, model_folder) -> dict[str, np.ndarray]:
    """``{set name: [rows, n]}`` at every real position of ``batch`` (``real_positions`` order): the MLP
    neurons of each block (``L0`` ..), the shipped SAE's features (``sae``), or each block's transcoder
    features (``L0`` ..)."""
    import torch

    from othello_core.analysis.sae.training import collect_stream
    from othello_core.rules.hooks import mlp_in, mlp_post
    n_layers = model.cfg.n_layers

    def stream(hook: str, block: int) -> torch.Tensor:
        return collect_stream(model, batch.squares, batch.lengths, hook, block + 1, 100, dtype=torch.float32)

    with torch.no_grad():
        if kind == "neurons":
            return {f"L{b}": stream(mlp_post(b), b).numpy() for b in range(n_layers)}
        if kind == "sae":
            from othello_core.analysis.sae.recipe import SAERecipe, sae_folder
            from othello_core.analysis.sae.training import load_sae
            recipe = SAERecipe()
            sae = load_sae(sae_folder(model_folder, recipe.hook))
            return {"sae": sae.encode(stream(recipe.hook, recipe.stream - 1)).numpy()}
        if kind == "transcoders":
            from othello_core.analysis.transcoders.recipe import transcoder_folder
            from othello_core.analysis.transcoders.report import load_set
            transcoders = load_set(transcoder_folder(model_folder), n_layers)
            return {f"L{b}": tc.encode(stream(mlp_in(b), b)).numpy() for b, tc in transcoders.items()}
    raise ValueError(f"units are one of {UNIT_KINDS}, not {kind!r}")
