"""Plotly figures: boards that read at a glance (ARENA style), probe curves, head summaries.

Boards are drawn with rank 1 at the top and files a..h left to right, like Othello diagrams
and like the paper's 8x8 arrays (row 0 on top). Pure functions: data in, ``go.Figure`` out.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale
from plotly.subplots import make_subplots

from othello_core.rules.notation import square_to_name
from othello_core.rules.hooks import published_stream_label, stream_label
from othello_core.analysis.probes import PUBLISHED_SPAN, curve, kind_curve
from othello_core.reports.evaluation import error_rates_by_move

FILES = list("abcdefgh")
RANKS = [str(r) for r in range(1, 9)]
BOARD_GREEN = "#2e7d4f"


def _grid(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(8, 8)


# One meaning per marker, on every board (the legend under a board lists the ones it draws):
# name -> (symbol, colour, size as a fraction of a square, line width as a fraction of a square or 0).
MARKERS = {
    "legal move": ("circle", "#ffb300", 0.62, 1 / 14),  # a ring: drawn as an unfilled circle
    "last move": ("circle", "#e53935", 0.3, 0),
    "flipped by it": ("x", "#e53935", 0.3, 0),
    "edited square": ("square", "#00b8d4", 0.94, 1 / 12),  # a frame round the square
    "probe reads it wrong": ("star", "#d500f9", 0.42, 0),
}
RINGED = ("legal move", "edited square")  # drawn as outlines, the square's heat showing through


def _marker_trace(name: str, squares: np.ndarray, cell: float) -> dict:
    symbol, colour, size, width = MARKERS[name]
    outline = name in RINGED
    marker = dict(size=size * cell, symbol=symbol, color="rgba(0,0,0,0)" if outline else colour,
                  line=dict(color=colour, width=max(1.5, cell * width)) if outline else dict(width=0))
    return dict(type="scatter", x=[FILES[s % 8] for s in squares], y=[RANKS[s // 8] for s in squares],
                mode="markers", marker=marker, name=name, hoverinfo="skip", showlegend=True,
                legendrank=list(MARKERS).index(name))


@lru_cache(maxsize=64)
def _named_scale(name: str) -> tuple:
    """A named colour scale as plotly's validation would spell it out (plotly.js knows only some names)."""
    return tuple(tuple(stop) for stop in get_colorscale(name))


def colour_scale(colorscale) -> list:
    return [list(stop) for stop in (_named_scale(colorscale) if isinstance(colorscale, str) else colorscale)]


def _squares(mask) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, bool)) if mask is not None else np.zeros(0, int)


def board_figure(board: np.ndarray, heat: np.ndarray | None = None, legal: np.ndarray | None = None,
                 last_move: int | None = None, flipped: np.ndarray | None = None,
                 title: str | None = None, heat_label: str = "P(move)", size: int = 420,
                 zmax: float | None = None,
                 colorscale: str = "Blues", font: int = 13, edited: np.ndarray | None = None,
                 wrong: np.ndarray | None = None, legend: bool = True) -> go.Figure:
    """The one board: discs from ``board`` (0 empty / 1 black / 2 white), an optional heatmap on the
    squares, and markers with one meaning each (``MARKERS``): ``legal`` moves ringed, the ``last_move``,
    the discs it ``flipped``, the squares an edit changed (``edited``), the squares a probe reads
    ``wrong``; a legend names the ones drawn. (The board a
    person clicks is ``app.live_board``: the same markers, drawn in the browser.)

    Built as one plain spec and wrapped without plotly's per-property validation (about 20x faster,
    which a click pays for every board it redraws); ``tests/test_figures.py`` validates the spec."""
    squares = np.arange(64)
    names = [square_to_name(s) for s in squares]
    top = (70 + 20 * title.count("<br>")) if title else 30  # room for the title's lines above the file letters
    marks = [(name, _squares(mask)) for name, mask in (
        ("legal move", legal), ("edited square", edited), ("probe reads it wrong", wrong), ("flipped by it", flipped),
        ("last move", [s == last_move for s in squares] if last_move is not None and last_move >= 0 else None))]
    marks = [(name, where) for name, where in marks if len(where)]
    bottom = 10 + (font + 14 if legend and marks else 0)  # one row of legend under the board
    cell = min(size - 40, size - top - bottom) / 8  # a square's side in pixels (the plot area is square: scaleanchor)
    grid = np.array(names).reshape(8, 8).tolist()
    if heat is not None:
        z = _grid(heat).tolist()
        traces = [dict(type="heatmap", z=z, x=FILES, y=RANKS, colorscale=colour_scale(colorscale), zmin=0.0,
                       zmax=zmax if zmax is not None else max(float(np.max(heat)), 1e-6), customdata=grid,
                       xgap=2, ygap=2, hovertemplate="%{customdata}: %{z:.3f}<extra>" + heat_label + "</extra>",
                       colorbar=dict(title=dict(text=heat_label, font=dict(size=font)), tickfont=dict(size=font),
                                     thickness=12, len=0.8))]
    else:
        traces = [dict(type="heatmap", z=np.zeros((8, 8)).tolist(), x=FILES, y=RANKS, showscale=False,
                       colorscale=[[0, BOARD_GREEN], [1, BOARD_GREEN]], xgap=2, ygap=2, hoverinfo="skip")]
    board = np.asarray(board)
    for colour, fill, line in ((1, "black", "#888"), (2, "white", "#333")):
        where = squares[board == colour]
        if len(where):
            traces.append(dict(type="scatter", x=[FILES[s % 8] for s in where], y=[RANKS[s // 8] for s in where],
                               mode="markers", marker=dict(size=0.74 * cell, color=fill, line=dict(color=line, width=1.5)),
                               name="black" if colour == 1 else "white", hoverinfo="skip", showlegend=False))
    traces += [_marker_trace(name, where, cell) for name, where in marks]
    layout = dict(
        width=size + (60 + 2 * font if heat is not None else 0), height=size,
        title=dict(text=title, y=1, yref="container", yanchor="top", font=dict(size=font + 1),
                   pad=dict(t=6 + (font + 3) * title.count("<br>") if title else 6)),  # plotly anchors a long title by its first line
        margin=dict(l=30, r=10, t=top, b=bottom), dragmode=False, plot_bgcolor="white",
        clickmode="none", showlegend=bool(legend and marks),
        legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom", itemsizing="constant",
                    font=dict(size=max(9, font - 2)), itemclick=False, itemdoubleclick=False,
                    bgcolor="rgba(0,0,0,0)", entrywidthmode="pixels", entrywidth=0),
        xaxis=dict(type="category", side="top", fixedrange=True, range=[-0.5, 7.5], constrain="domain",
                   tickfont=dict(size=font), categoryorder="array", categoryarray=FILES),
        yaxis=dict(type="category", autorange=False, range=[7.5, -0.5], fixedrange=True,
                   scaleanchor="x", constrain="domain", tickfont=dict(size=font), categoryorder="array",
                   categoryarray=RANKS))
    return go.Figure(dict(data=traces, layout=layout), _validate=False)


def board_grid_figure(panels: list[np.ndarray], titles: list[str], zmin: float = 0, zmax: float = 1,
                      colorscale: str = "RdBu_r", label: str = "", cols: int = 5) -> go.Figure:
    """Small multiples: one 8x8 heatmap per panel (each a ``[64]`` array)."""
    cols = min(len(panels), cols)
    rows = (len(panels) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    for i, values in enumerate(panels):
        r, c = divmod(i, cols)
        fig.add_trace(go.Heatmap(
            z=_grid(values), x=FILES, y=RANKS, zmin=zmin, zmax=zmax, colorscale=colorscale,
            showscale=i == 0, xgap=1, ygap=1, colorbar=dict(title=label, thickness=10, len=0.6),
            hovertemplate="%{x}%{y}: %{z:.2f}<extra></extra>"), row=r + 1, col=c + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x")
    fig.update_xaxes(showticklabels=False)
    top = 40 + 16 * max((t.count("<br>") for t in titles), default=0)  # room for two-line titles
    fig.update_layout(height=210 * rows + top, margin=dict(l=10, r=10, t=top, b=10))
    return fig


def probe_grid_figure(probs: np.ndarray, layer_names: list[str], class_index: int,
                      class_label: str, truth: np.ndarray | None = None) -> go.Figure:
    """One board of P(class) per layer (``probs [L, 64, C]``), the true board last."""
    panels = [p[:, class_index] for p in probs] + ([np.asarray(truth, float)] if truth is not None else [])
    titles = list(layer_names) + (["true board"] if truth is not None else [])
    return board_grid_figure(panels, titles, label=f"P({class_label})")


def accuracy_metric_label(metric: str) -> str:
    """How a probe report's per-layer metric reads on an axis or a button."""
    if metric == "span_accuracy":
        return "cell accuracy, moves {}–{}".format(*PUBLISHED_SPAN)
    return metric.replace("_", " ")


def accuracy_figure(report: dict, metric: str = "cell_accuracy") -> go.Figure:
    """Probe accuracy per layer: linear colour vs linear mine/theirs vs MLP colour (+ MLP mine)."""
    layers = report["layers"]
    fig = go.Figure()
    series = [("linear", "mine_theirs", None, "linear mine/theirs", "#1e88e5", "solid"),
              ("linear", "black_white", None, "linear black/white", "#e53935", "solid")]
    for kind, colour in (("black_white", "#e53935"), ("mine_theirs", "#1e88e5")):
        for width in sorted(report.get("mlp", {}).get(kind, {}), key=int):
            series.append(("mlp", kind, int(width), f"MLP-{width} {kind.replace('_', '/')}",
                           colour, "dash" if int(width) >= 512 else "dot"))
    for method, kind, width, name, colour, dash in series:
        fig.add_trace(go.Scatter(x=layers, y=curve(report, method, kind, width, metric),
                                 mode="lines+markers", name=name,
                                 line=dict(color=colour, dash=dash if method == "mlp" else "solid")))
    control = report.get("control")
    if control:  # the random-init control, same probes: thin grey lines under the same names
        for method, kind, width, name, colour, dash in series:
            values = kind_curve(control, method, kind, width, metric)
            if values:
                fig.add_trace(go.Scatter(x=layers, y=values, mode="lines",
                                         name=f"control: {name}", opacity=0.7,
                                         line=dict(color=colour, width=1, dash="dot")))
    baseline = report.get("baseline", {}).get("black_white")
    if baseline and metric == "cell_accuracy":
        fig.add_hline(y=baseline, line=dict(color="#999", dash="dot"),
                      annotation_text="per-square majority class", annotation_position="bottom right")
    fig.update_layout(xaxis=dict(title="residual stream", tickvals=layers, ticktext=[stream_label(s) for s in layers]),
                      yaxis=dict(title=accuracy_metric_label(metric), tickformat=".0%"),
                      height=380, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def training_figure(rows: list[dict]) -> go.Figure:
    """Held-out top-1 error (log scale) against games seen, from a run's ``metrics.jsonl`` (a run
    trained on from earlier weights carries the earlier runs' records: one curve, a star per run)."""
    periodic = [r for r in rows if not r.get("final")]
    games = [r["games_seen"] for r in periodic]
    error = [max(1 - r["legal_top1"], 1e-5) for r in periodic]
    fig = go.Figure(go.Scatter(x=games, y=error, mode="lines+markers", name="held-out games",
                               hovertemplate="%{x:,} games: top-1 error %{y:.3%}<extra></extra>"))
    finals = [r for r in rows if r.get("final")]  # one per run: a model trained on has several
    if finals:
        fig.add_trace(go.Scatter(
            x=[r["games_seen"] for r in finals], y=[max(1 - r["legal_top1"], 1e-5) for r in finals],
            customdata=[r["games"] for r in finals], mode="markers", marker=dict(size=11, symbol="star"),
            name="end of a run (larger held-out set)",
            hovertemplate="%{x:,} games: top-1 error %{y:.3%} on %{customdata:,} held-out games<extra></extra>"))
    fig.add_hline(y=1e-4, line=dict(color="#999", dash="dot"),
                  annotation_text="the paper's synthetic model (0.01%)", annotation_position="top right")
    fig.update_layout(xaxis=dict(title="games seen"), yaxis=dict(title="legal top-1 error", type="log",
                      tickformat=".2%"), height=320, margin=dict(l=10, r=10, t=20, b=10),
                      legend=dict(orientation="h", y=-0.3))
    return fig


LEGAL, ILLEGAL, NO_PREDICTION = "#43a047", "#e53935", "#e0e0e0"  # the legal strip's cells


def legal_strip_svg(top1_legal: np.ndarray, current: int | None = None, width: int = 1000) -> str:
    """One cell per move: was the model's top-1 prediction legal there? Green legal, red illegal, grey no
    prediction (the game over), a black line through the move shown, each cell's verdict in its tooltip, the move
    numbers every 5 below. An SVG of ``width`` units, scaled to its place on the page (``app.live_svg``): Play
    redraws it on every click, which plotly took 55-70 ms of the browser's time to do.

    >>> svg = legal_strip_svg(np.array([1.0, 0.0, np.nan]), current=1)
    >>> svg.count('<rect'), svg.count(LEGAL), svg.count(ILLEGAL), svg.count(NO_PREDICTION)
    (3, 1, 1, 1)
    >>> 'data-current="2"' in svg, "after move 2: top-1 illegal" in svg
    (True, True)
    """
    values = np.asarray(top1_legal, float)
    n, left, top, height = len(values), 10.0, 22.0, 36.0
    current = current if current is not None and 0 <= current < n else None
    cell = (width - 2 * left) / max(n, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 78" data-moves="{n}" '
             f'data-current="{"" if current is None else current + 1}" font-family="Source Sans Pro, sans-serif">',
             f'<text x="{left}" y="14" font-size="12" fill="#333">top-1 legal, move by move '
             f'(green legal, red illegal, grey no prediction)</text>']
    for i, value in enumerate(values):
        colour, verdict = ((NO_PREDICTION, "no prediction (the game is over)") if np.isnan(value)
                           else (LEGAL, "top-1 legal") if value else (ILLEGAL, "top-1 illegal"))
        parts.append(f'<rect x="{left + i * cell + 0.5:.2f}" y="{top}" width="{max(cell - 1, 0.5):.2f}" '
                     f'height="{height}" fill="{colour}"><title>after move {i + 1}: {verdict}</title></rect>')
    for move in range(5, n + 1, 5):
        parts.append(f'<text x="{left + (move - 0.5) * cell:.2f}" y="{top + height + 14}" font-size="11" '
                     f'fill="#555" text-anchor="middle">{move}</text>')
    if current is not None:
        x = left + (current + 0.5) * cell
        parts.append(f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{top - 3}" y2="{top + height + 3}" stroke="black" '
                     f'stroke-width="2"/>')
    return "".join(parts) + "</svg>"


def dla_groups(names: list[str], contributions) -> tuple[list[str], dict[str, list[float]]]:
    """Direct logit attribution summed by block: (x labels ``embed``, ``L0``..; {"attention (heads + bias)",
    "MLP"} -> one sum a label). Component names as ``attribution.direct_logit_attribution`` gives them.

    >>> dla_groups(["embed", "pos_embed", "L0H0", "L0H1", "L0 attn bias", "L0 MLP"], [1.0, 0.5, 0.25, -1.0, 0.5, 2.0])
    (['embed', 'L0'], {'attention (heads + bias)': [0.0, -0.25], 'MLP': [0.0, 2.0], 'embeddings': [1.5, 0.0]})
    """
    labels, sums = [], {"attention (heads + bias)": [], "MLP": [], "embeddings": []}
    for name, value in zip(names, contributions):
        label = "embed" if "embed" in name else name.split()[0].split("H")[0]
        kind = "embeddings" if label == "embed" else "MLP" if name.endswith("MLP") else "attention (heads + bias)"
        if label not in labels:
            labels.append(label)
            for series in sums.values():
                series.append(0.0)
        sums[kind][labels.index(label)] += float(value)
    return labels, sums


def dla_figure(names: list[str], contributions, target: str, top: int = 12) -> go.Figure:
    """Direct logit attribution read at a glance: by block (attention and MLP side by side) and the ``top``
    components ranked by size, instead of one tick per component."""
    contributions = np.asarray(contributions, float)
    labels, sums = dla_groups(names, contributions)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.12,
                        subplot_titles=["by block", f"the {top} largest components"])
    for kind, colour in (("embeddings", "#888"), ("attention (heads + bias)", "#1e88e5"), ("MLP", "#43a047")):
        fig.add_trace(go.Bar(x=labels, y=sums[kind], name=kind, marker_color=colour,
                             hovertemplate="%{x} " + kind + ": %{y:+.3f}<extra></extra>"), row=1, col=1)
    order = np.argsort(-np.abs(contributions))[:top][::-1]
    colours = ["#888" if "embed" in names[i] else "#43a047" if names[i].endswith("MLP") else "#1e88e5" for i in order]
    fig.add_trace(go.Bar(x=contributions[order], y=[names[i] for i in order], orientation="h", marker_color=colours,
                         showlegend=False, hovertemplate="%{y}: %{x:+.3f}<extra></extra>"), row=1, col=2)
    fig.update_layout(barmode="group", height=360, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.18))
    fig.update_yaxes(title_text=f"contribution to logit({target})", row=1, col=1)
    fig.update_xaxes(title_text="block (TransformerLens blocks.L)", row=1, col=1)
    fig.update_xaxes(title_text=f"contribution to logit({target})", row=1, col=2)
    return fig


def head_summary_figure(mine_share: np.ndarray) -> go.Figure:
    """Layer x head heatmap of the attention share on the current player's own moves."""
    fig = go.Figure(go.Heatmap(
        z=mine_share, x=[f"H{h}" for h in range(mine_share.shape[1])],
        y=[f"L{l}" for l in range(mine_share.shape[0])], zmin=0, zmax=1, colorscale="RdBu",
        colorbar=dict(title="share on<br>mover's<br>moves"),
        hovertemplate="%{y} %{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(autorange="reversed"))
    return fig


def error_by_move_figure(by_move: dict[str, dict]) -> go.Figure:
    """Top-1 legal-move error rate per move number, one line per dataset
    (``by_move[name]`` is an ``evaluate(..., by_move=True)["by_move"]``)."""
    fig = go.Figure()
    for (name, counts), colour in zip(by_move.items(), ("#1e88e5", "#fb8c00", "#43a047", "#8e24aa")):
        rates = error_rates_by_move(counts)
        fig.add_trace(go.Scatter(
            x=list(range(1, len(rates) + 1)), y=rates, mode="lines+markers", name=name, line=dict(color=colour),
            customdata=np.stack([counts["top1_errors"], counts["positions"]], -1),
            hovertemplate="after move %{x}: %{y:.3%} (%{customdata[0]:,} of %{customdata[1]:,})"
                          f"<extra>{name}</extra>"))
    fig.update_layout(xaxis=dict(title="move number (the prediction made after it)", dtick=5),
                      yaxis=dict(title="legal top-1 error", tickformat=".1%", rangemode="tozero"),
                      height=320, margin=dict(l=10, r=10, t=20, b=10), legend=dict(orientation="h", y=-0.3))
    return fig


def probe_by_move_figure(rows: list[dict], layer_names: list[str], title: str) -> go.Figure:
    """Layer x move-number heatmap of a probe's cell accuracy (``rows``: one report row per layer,
    each with ``by_move``): where in the game, and from which layer on, the board can be read."""
    z = np.array([[np.nan if a is None else a for a in row["by_move"]] for row in rows], float)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(1, z.shape[1] + 1)), y=layer_names, zmin=max(0.5, float(np.nanmin(z))), zmax=1,
        colorscale="Viridis", colorbar=dict(title="cell<br>accuracy", tickformat=".0%"),
        hovertemplate="%{y}, after move %{x}: %{z:.2%}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=340,
                      xaxis=dict(title="move number", dtick=5), yaxis=dict(autorange="reversed"),
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


LATE_GAME_SERIES = (("own_probe_mine_theirs", "mine/theirs probe trained at that move", "#1e88e5", "solid"),
                    ("shared_probe_mine_theirs", "shipped mine/theirs probe (all positions)", "#1e88e5", "dot"),
                    ("own_probe_black_white", "colour probe trained at that move", "#e53935", "solid"),
                    ("own_probe_blank", "blank probe trained at that move", "#43a047", "solid"),
                    ("model_legal_top1", "model: top move legal", "#616161", "dash"))


def late_game_figure(finding: dict) -> go.Figure:
    """The late-game finding: per move number, what probes of its own can read, what the shipped
    probe reads, and whether the model still plays legally; hover adds the legal moves left and
    how many games have a next mover other than strict alternation's (a pass)."""
    fig = go.Figure()
    extra = np.array([[np.nan if v is None else v for v in finding[key]]
                      for key in ("legal_moves", "mover_not_alternating")], float).T
    for key, name, colour, dash in LATE_GAME_SERIES:
        fig.add_trace(go.Scatter(
            x=finding["moves"], y=finding[key], mode="lines+markers", name=name,
            line=dict(color=colour, dash=dash), customdata=extra,
            hovertemplate="after move %{x}: %{y:.1%} (%{customdata[0]:.1f} legal moves on average; "
                          f"a pass changed the next mover in %{{customdata[1]:.0%}} of games)<extra>{name}</extra>"))
    fig.update_layout(xaxis=dict(title="move number (not to scale)", type="category"),
                      yaxis=dict(title="held-out accuracy", tickformat=".0%"),
                      height=340, margin=dict(l=10, r=10, t=20, b=10), legend=dict(orientation="h", y=-0.35))
    return fig


def reproduction_figure(row: dict) -> go.Figure:
    """One row of ``probe_suite.compare_table``: ours against the published figure, per stream."""
    names = [published_stream_label(s) for s in range(len(row["ours"]))]
    unit = "error %" if row["metric"] == "error" else "accuracy %"
    fig = go.Figure([go.Scatter(x=names, y=row["ours"], mode="lines+markers", name="this project"),
                     go.Scatter(x=names, y=row["published"], mode="lines+markers", name=row["published_source"],
                                line=dict(dash="dash"))])
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(title=unit),
                      xaxis=dict(title="stream (x = embedding)"), title=dict(text=row["label"], font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def probe_history_figure(rows: list[dict], layer_names: list[str], title: str) -> go.Figure:
    """Train and held-out accuracy per epoch of one probe at every stream (the stop rule's curve)."""
    fig = go.Figure()
    for layer, (row, name) in enumerate(zip(rows, layer_names)):
        history = row.get("history") or []
        epochs = [h["epoch"] for h in history]
        colour = f"hsl({int(280 * layer / max(1, len(rows) - 1))},70%,45%)"
        fig.add_trace(go.Scatter(x=epochs, y=[h["test_accuracy"] for h in history], mode="lines+markers",
                                 name=f"{name} held out", line=dict(color=colour)))
        fig.add_trace(go.Scatter(x=epochs, y=[h["train_accuracy"] for h in history], mode="lines",
                                 name=f"{name} train", line=dict(color=colour, dash="dot", width=1),
                                 showlegend=False))
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), title=dict(text=title, font=dict(size=13)),
                      xaxis=dict(title="epoch", dtick=1), yaxis=dict(title="cell accuracy", tickformat=".1%"),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def feature_activation_figure(acts: np.ndarray, current: int | None = None, title: str = "") -> go.Figure:
    """One bar per move: a feature's activation after each move of the game."""
    moves = list(range(1, len(acts) + 1))
    colours = ["#e53935" if current is not None and m == current + 1 else "#1e88e5" for m in moves]
    fig = go.Figure(go.Bar(x=moves, y=np.asarray(acts, float), marker_color=colours,
                           hovertemplate="after move %{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=30), title=dict(text=title, font=dict(size=13)),
                      xaxis=dict(title="move", dtick=5), yaxis=dict(title="activation"), bargap=0.15)
    return fig


def signed_board_figure(panels: list[np.ndarray], titles: list[str], label: str) -> go.Figure:
    """Small multiples of signed per-square values on one symmetric scale (red +, blue -)."""
    bound = max(float(np.max(np.abs(np.asarray(panels)))), 1e-6)
    return board_grid_figure(panels, titles, zmin=-bound, zmax=bound, colorscale="RdBu_r", label=label)


def family_f1_figure(trained: dict, control: dict | None) -> go.Figure:
    """Mean best-feature F1 per board-state property family, trained SAE beside the control's."""
    families = list(trained)
    fig = go.Figure(go.Bar(name="trained model", x=families, y=[trained[f]["mean_f1"] for f in families],
                           marker_color="#1e88e5", hovertemplate="%{x}: %{y:.3f}<extra>trained</extra>"))
    if control:
        fig.add_trace(go.Bar(name="random-init control", x=families, y=[control[f]["mean_f1"] for f in families],
                             marker_color="#bdbdbd", hovertemplate="%{x}: %{y:.3f}<extra>control</extra>"))
    fig.update_layout(barmode="group", height=280, margin=dict(l=10, r=10, t=20, b=10),
                      yaxis=dict(title="mean best-feature F1", range=[0, 1]), legend=dict(orientation="h", y=1.12))
    return fig


def sae_vs_probe_figure(families: dict) -> go.Figure:
    """Per property family: how many properties the SAE's best feature and the linear probe each
    capture (F1 at or above the finding's threshold), out of how many."""
    names = list(families)
    fig = go.Figure()
    for key, label, colour in (("sae_captured", "SAE (one feature)", "#8e24aa"),
                               ("probe_captured", "linear probe", "#1e88e5")):
        fig.add_trace(go.Bar(name=label, x=names, y=[families[f].get(key) for f in names], marker_color=colour,
                             hovertemplate="%{x}: %{y}<extra>" + label + "</extra>"))
    fig.add_trace(go.Scatter(name="properties", x=names, y=[families[f]["properties"] for f in names], mode="markers",
                             marker=dict(symbol="line-ew-open", size=40, color="black")))
    fig.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=20, b=10),
                      yaxis=dict(title="properties captured"), legend=dict(orientation="h", y=1.15))
    return fig
