"""A circuit-tracer graph as a small value the app can cache and draw: the pruned core's nodes (features,
errors, input moves, the target logit) with their influence on the target, and the strongest edges.

Node keys are readable and stable, so a link can pin them: ``F3.12.407`` (transcoder feature 407 of
layer L3 at move 13, i.e. position 12), ``E3.12`` (L3's error at position 12), ``I12`` (the input move
at position 12), ``logit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

KINDS = ("feature", "error", "input", "logit")
MAX_FEATURES, MAX_ERRORS, MAX_EDGES = 40, 12, 200
_KEY = re.compile(r"^(?:F(\d+)\.(\d+)\.(\d+)|E(\d+)\.(\d+)|I(\d+)|logit)$")


@dataclass(frozen=True)
class Node:
    key: str
    kind: str  # feature / error / input / logit
    layer: int  # the transcoder's block; -1 for inputs, n_layers for the logit
    position: int
    feature: int = -1
    activation: float = 0.0
    influence: float = 0.0  # share of the target logit's total influence that flows through this node
    to_logit: float = 0.0  # its direct effect on the target logit (the edge weight)


@dataclass(frozen=True)
class GraphView:
    moves: tuple[int, ...]
    position: int
    target: int  # the square whose logit is explained
    target_probability: float
    n_layers: int
    nodes: tuple[Node, ...]
    edges: tuple[tuple[int, int, float], ...]  # (source index, target index, direct effect) into ``nodes``
    replacement_score: float
    completeness_score: float
    n_active: int  # active features at every (layer, position) of the prefix
    n_pruned: int  # nodes circuit-tracer's pruning keeps (before this view's caps)
    logit_share: float  # of the target logit's direct inputs, the share (by |weight|) from the nodes shown
    seconds: float = 0.0

    def index(self, key: str) -> int | None:
        return next((i for i, n in enumerate(self.nodes) if n.key == key), None)

    def features(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "feature"]


def parse_key(key: str) -> tuple[str, int, int, int] | None:
    """``(kind, layer, position, feature)`` of a node key, None if it is not one.

    >>> parse_key("F3.12.407"), parse_key("E0.4"), parse_key("I7"), parse_key("logit"), parse_key("x")
    (('feature', 3, 12, 407), ('error', 0, 4, -1), ('input', -1, 7, -1), ('logit', -1, -1, -1), None)
    """
    m = _KEY.match(str(key))
    if not m:
        return None
    f = [None if g is None else int(g) for g in m.groups()]
    if f[0] is not None:
        return "feature", f[0], f[1], f[2]
    if f[3] is not None:
        return "error", f[3], f[4], -1
    if f[5] is not None:
        return "input", -1, f[5], -1
    return "logit", -1, -1, -1


def _influence(graph) -> torch.Tensor:
    from circuit_tracer.graph import compute_node_influence
    weights = torch.zeros(graph.adjacency_matrix.shape[0])
    weights[-len(graph.logit_targets):] = graph.logit_probabilities.float().cpu()
    influence = compute_node_influence(graph.adjacency_matrix.float().cpu(), weights)
    return influence / influence.sum().clamp(min=1e-12)


def graph_view(graph, moves, position: int, target_probability: float, seconds: float = 0.0,
               max_features: int = MAX_FEATURES, max_errors: int = MAX_ERRORS, max_edges: int = MAX_EDGES) -> GraphView:
    """The drawable core of circuit-tracer's ``graph``: the pruned graph's most influential features and
    errors (capped), every input move it keeps and the logit; edges among them, strongest first."""
    from circuit_tracer.graph import compute_graph_scores, prune_graph
    from othello_core.analysis.graphs.attribution import EDGE_THRESHOLD, NODE_THRESHOLD
    from othello_core.rules.vocab import TOKEN_TO_SQUARE
    n_layers, n_pos = graph.cfg.n_layers, graph.n_pos
    n_feat = len(graph.selected_features)
    n_err = n_layers * n_pos
    adjacency = graph.adjacency_matrix.float().cpu()  # [targets, sources]
    influence = _influence(graph).numpy()
    kept = prune_graph(graph, NODE_THRESHOLD, EDGE_THRESHOLD).node_mask.cpu().numpy()
    logit_row = adjacency[n_feat + n_err + n_pos]  # the (first) target logit's direct inputs
    active = graph.active_features[graph.selected_features].cpu().numpy()  # [n_feat, 3] (layer, pos, feature)
    acts = graph.activation_values[graph.selected_features].float().cpu().numpy()  # values follow active_features

    def top(candidates, cap):
        candidates = [i for i in candidates if kept[i]]
        return sorted(candidates, key=lambda i: -influence[i])[:cap]

    chosen = top(range(n_feat), max_features) + top(range(n_feat, n_feat + n_err), max_errors)
    chosen += [i for i in range(n_feat + n_err, n_feat + n_err + n_pos) if kept[i]] + [n_feat + n_err + n_pos]
    nodes = []
    for i in chosen:
        common = dict(influence=float(influence[i]), to_logit=float(logit_row[i]))
        if i < n_feat:
            layer, pos, feature = (int(v) for v in active[i])
            nodes.append(Node(f"F{layer}.{pos}.{feature}", "feature", layer, pos, feature, float(acts[i]), **common))
        elif i < n_feat + n_err:
            layer, pos = divmod(i - n_feat, n_pos)
            nodes.append(Node(f"E{layer}.{pos}", "error", layer, pos, **common))
        elif i < n_feat + n_err + n_pos:
            pos = i - n_feat - n_err
            nodes.append(Node(f"I{pos}", "input", -1, pos, **common))
        else:
            nodes.append(Node("logit", "logit", n_layers, position, influence=1.0))
    sub = adjacency[np.ix_(chosen, chosen)].numpy()  # [targets, sources] among the chosen
    pairs = np.argwhere(sub != 0)
    pairs = pairs[np.argsort(-np.abs(sub[pairs[:, 0], pairs[:, 1]]))][:max_edges]
    edges = tuple((int(s), int(t), float(sub[t, s])) for t, s in pairs)
    shown = np.abs(logit_row[chosen[:-1]].numpy()).sum()
    total = float(np.abs(logit_row[:-1].numpy()).sum()) or 1.0
    replacement, completeness = compute_graph_scores(graph)
    target = TOKEN_TO_SQUARE[int(graph.logit_targets[0].vocab_idx)]
    return GraphView(tuple(int(m) for m in moves[:position + 1]), position, target, float(target_probability),
                     n_layers, tuple(nodes), edges, float(replacement), float(completeness),
                     int(len(graph.active_features)), int(kept.sum()), float(shown / total), round(seconds, 1))
