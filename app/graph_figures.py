"""The attribution graph drawn with plotly: nodes laid out by layer (rows) and move (columns), edges
coloured by sign (red excites the target, blue inhibits) and weighted by strength; every feature node
carries its board label. Clicking a node selects it (``on_select``: the node key is in ``customdata``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from othello_core.analysis.graphs.view import GraphView, Node
from othello_core.rules.hooks import block_label
from othello_core.rules.notation import square_to_name

KIND_STYLE = {  # marker, colour, what the legend calls it
    "feature": ("circle", "#1e88e5", "transcoder feature"),
    "error": ("diamond", "#9e9e9e", "error (what the transcoder misses)"),
    "input": ("square", "#424242", "input move"),
    "logit": ("star", "#e53935", "target logit"),
}
EDGE_BUCKETS = ((0.66, 4.0), (0.33, 2.2), (0.05, 1.0))  # share of the strongest |weight| -> line width (weaker: not drawn)


def node_label(node: Node, labels: dict | None, moves) -> str:
    """What a node reads in the figure: a feature's rule (or best property), an input's move."""
    if node.kind == "input":
        return f"{node.position + 1}. {square_to_name(moves[node.position])}"
    if node.kind == "logit":
        return "logit"
    if node.kind == "error":
        return f"{block_label(node.layer)} error"
    sets = (labels or {}).get(block_label(node.layer))
    if sets is None:
        return f"#{node.feature}"
    if sets.r2[node.feature] >= 0.5:
        return sets.rule(node.feature).removeprefix("fires when ")
    return sets.best(node.feature)


def layout(view: GraphView) -> np.ndarray:
    """``[nodes, 2]`` (x, y): x the move, y the layer (inputs -1, the logit on top). Nodes sharing a cell are
    spread across the move's width, the most influential in the middle, alternately a little up and down."""
    xy = np.zeros((len(view.nodes), 2))
    cells: dict[tuple[int, int], list[int]] = {}
    for i, n in enumerate(view.nodes):
        y = {"input": -1, "logit": view.n_layers}.get(n.kind, n.layer)
        cells.setdefault((n.position, y), []).append(i)
    for (x, y), members in cells.items():
        members = sorted(members, key=lambda i: -view.nodes[i].influence)
        k = len(members)
        slots = sorted(np.linspace(-0.42, 0.42, k) if k > 1 else [0.0], key=abs)
        for rank, (i, dx) in enumerate(zip(members, slots)):
            xy[i] = (x + dx, y + (0.18 if rank % 2 else -0.18) * (k > 3))
    return xy


LABELLED = 14  # feature nodes named on the figure (the most influential); every node names itself on hover


def graph_figure(view: GraphView, labels: dict | None, pinned=(), selected: str | None = None,
                 edited=(), height: int = 620) -> go.Figure:
    xy = layout(view)
    fig = go.Figure()
    strongest = max((abs(w) for _, _, w in view.edges), default=1.0) or 1.0
    for sign, colour in ((1, "rgba(229,57,53,0.55)"), (-1, "rgba(30,136,229,0.55)")):
        for bucket, (low, width) in enumerate(EDGE_BUCKETS):
            high = EDGE_BUCKETS[bucket - 1][0] if bucket else float("inf")
            xs, ys = [], []
            for s, t, w in view.edges:
                if np.sign(w) == sign and low <= abs(w) / strongest < high:
                    xs += [xy[s, 0], xy[t, 0], None]
                    ys += [xy[s, 1], xy[t, 1], None]
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width),
                                         hoverinfo="skip", showlegend=False))
    top = max((n.influence for n in view.nodes if n.kind != "logit"), default=1.0) or 1.0
    for kind, (symbol, colour, name) in KIND_STYLE.items():
        idx = [i for i, n in enumerate(view.nodes) if n.kind == kind]
        if not idx:
            continue
        nodes = [view.nodes[i] for i in idx]
        texts = [node_label(n, labels, view.moves) for n in nodes]
        named = {k.key for k in sorted(view.features(), key=lambda n: -n.influence)[:LABELLED]} | set(pinned) | {selected}
        sizes = [26 if n.kind == "logit" else 10 + 22 * min(1.0, (n.influence / top) ** 0.5) for n in nodes]
        lines = ["#ffb300" if n.key == selected else "#000" if n.key in pinned else "#fff" for n in nodes]
        widths = [4 if n.key == selected or n.key in pinned else 1 for n in nodes]
        fig.add_trace(go.Scatter(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers+text" if kind == "feature" else "markers", name=name,
            text=[(t if len(t) <= 22 else t[:21] + "…") if n.key in named else "" for n, t in zip(nodes, texts)],
            textposition="top center",
            textfont=dict(size=11), customdata=[n.key for n in nodes],
            marker=dict(symbol=["x" if n.key in edited else symbol for n in nodes], size=sizes, color=colour,
                        line=dict(color=lines, width=widths)),
            hovertext=[f"{n.key} · {t}<br>influence {n.influence:.1%} · to the logit {n.to_logit:+.2f}"
                       + (f" · activation {n.activation:.2f}" if n.kind == "feature" else "") for n, t in zip(nodes, texts)],
            hoverinfo="text"))
    ticks = list(range(-1, view.n_layers + 1))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select", dragmode=False,
        legend=dict(orientation="h", y=-0.08), plot_bgcolor="#fafafa",
        xaxis=dict(title="move (position in the game)", tickvals=list(range(view.position + 1)),
                   ticktext=[f"{p + 1}.{square_to_name(m)}" for p, m in enumerate(view.moves)], tickangle=0,
                   range=[-0.6, view.position + 1.4]),
        yaxis=dict(title="layer", tickvals=ticks,
                   ticktext=["input"] + [f"{block_label(b)} MLP" for b in range(view.n_layers)] + ["logit"],
                   range=[-1.6, view.n_layers + 0.6]))
    return fig


def selected_key(event) -> str | None:
    """The node key a click selected (``customdata`` of the first selected point), else None."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points:
        key = point.get("customdata")
        if isinstance(key, list):
            key = key[0] if key else None
        if isinstance(key, str):
            return key
    return None
