"""The circuit question at the feature level, over many positions: for the model's top move at each position,
which kinds of transcoder features feed its logit in the attribution graph (the features whose direct edges
raise it most), how deep they sit, and whether they matter causally (zeroing them lowers the logit more than
zeroing as many random active features of the same layers and moves)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from othello_core.analysis.graphs.intervene import NodeEdit, edited_logit, feature_activation
from othello_core.analysis.sae.metrics import property_names

TOP = 5  # per position, the graph's features with the largest direct effect raising the target's logit


def feature_kinds(labels, layer: int, feature: int) -> list[str]:
    """The property families a feature's rule requires to hold (``empty``, ``mine``, ``legal``, ...), or its
    best single property's family when the rule names none."""
    if labels is None or f"L{layer}" not in labels:
        return []
    sets = labels[f"L{layer}"]
    names = property_names()
    kinds = [names[int(p) - 1].split(" ", 1)[1] for p in sets.path[feature] if p > 0]
    return kinds or [names[int(sets.best_property[feature])].split(" ", 1)[1]]


def position_circuit(view, service, transcoders: dict, labels, top: int = TOP, seed: int = 0) -> dict:
    """One position's graph read at the feature level, with the ablation check."""
    rng = np.random.default_rng(seed)
    feats = sorted((n for n in view.features() if n.to_logit > 0), key=lambda n: -n.to_logit)[:top]
    moves, position, target = view.moves, view.position, view.target
    clean = edited_logit(service, transcoders, moves, position, [], target)
    zero_top = [NodeEdit(n.layer, n.position, n.feature) for n in feats]
    chosen = {(n.layer, n.position, n.feature) for n in view.features()}
    random_edits = []
    for n in feats:  # a random active feature at the same layer and move, not among the graph's features
        acts = feature_activation(service, transcoders, moves[:position + 1], n.layer)[n.position]
        pool = [f for f in np.flatnonzero(acts > 0) if (n.layer, n.position, int(f)) not in chosen]
        if pool:
            random_edits.append(NodeEdit(n.layer, n.position, int(rng.choice(pool))))
    return {"position": position, "target": int(target), "moves": list(moves),
            "features": [{"key": n.key, "layer": n.layer, "at_target_move": n.position == position,
                          "influence": n.influence, "to_logit": n.to_logit, "kinds": feature_kinds(labels, n.layer, n.feature)} for n in feats],
            "logit": clean,
            "drop_top": clean - edited_logit(service, transcoders, moves, position, zero_top, target),
            "drop_random": clean - edited_logit(service, transcoders, moves, position, random_edits, target),
            "random_features": len(random_edits), "replacement_score": view.replacement_score,
            "completeness_score": view.completeness_score}


def summarize_circuits(rows: list[dict]) -> dict:
    """What the positions say together (every figure the finding's sentence quotes)."""
    feats = [f for r in rows for f in r["features"]]
    kinds = Counter(k for f in feats for k in set(f["kinds"]))
    layers = np.array([f["layer"] for f in feats])
    drops = np.array([[r["drop_top"], r["drop_random"]] for r in rows])
    return {"positions": len(rows), "features": len(feats), "per_position": max((len(r["features"]) for r in rows), default=0),
            "kind_share": {k: round(v / max(len(feats), 1), 3) for k, v in kinds.most_common()},
            "layer_share": {f"L{b}": round(float((layers == b).mean()), 3) for b in sorted(set(layers.tolist()))},
            "mean_layer": round(float(layers.mean()), 2) if len(layers) else None,
            "at_target_move": round(float(np.mean([f["at_target_move"] for f in feats])), 3) if feats else None,
            "mean_drop_top": round(float(drops[:, 0].mean()), 3), "mean_drop_random": round(float(drops[:, 1].mean()), 3),
            "top_beats_random": int((drops[:, 0] > drops[:, 1]).sum()),
            "mean_logit": round(float(np.mean([r["logit"] for r in rows])), 3)}
