"""The figures say what the data says: squares where the data puts them."""
import re

import numpy as np

from othello_core.rules.board import parse_game
from app.figures import (ILLEGAL, LATE_GAME_SERIES, LEGAL, NO_PREDICTION, accuracy_figure, board_figure, error_by_move_figure,
                                late_game_figure, legal_strip_svg, probe_by_move_figure, training_figure)


def traces(fig, name):
    return [t for t in fig.data if t.name == name]


def test_board_figure_places_discs_and_rings():
    game = parse_game("f5 d6 c3")
    cells = np.array([{1: 1, -1: 2, 0: 0}[game.board.cell(s)] for s in range(64)])
    legal = np.isin(np.arange(64), game.board.legal_moves())
    fig = board_figure(cells, legal=legal, last_move=game.moves[-1])
    black, = traces(fig, "black")
    assert sorted(zip(black.x, black.y)) == sorted([("c", "3"), ("d", "4"), ("e", "4"), ("e", "5"), ("f", "5")])
    rings, = traces(fig, "legal move")
    assert len(rings.x) == legal.sum()
    last, = traces(fig, "last move")
    assert (last.x[0], last.y[0]) == ("c", "3")
    assert list(fig.layout.yaxis.range) == [7.5, -0.5]  # rank 1 on top


def test_board_figure_is_a_valid_plotly_figure_with_one_marker_per_meaning_and_a_legend_of_those_drawn():
    """The board skips plotly's validation for speed: its spec must pass that validation unchanged."""
    import plotly.graph_objects as go
    from app.figures import MARKERS
    cells = np.zeros(64, int)
    cells[[27, 36]], cells[[28, 35]] = 1, 2
    some = lambda *s: np.isin(np.arange(64), s)  # noqa: E731
    fig = board_figure(cells, heat=np.linspace(0, 1, 64), legal=some(19, 26), last_move=35, flipped=some(36),
                       edited=some(27), wrong=some(28), title="a<br>b")
    import json
    same = lambda f: json.dumps(f.to_dict(), sort_keys=True, default=list)  # noqa: E731
    assert same(go.Figure(fig.to_dict())) == same(fig)  # validated: the same figure
    drawn = {t.name: t for t in fig.data if t.showlegend}
    assert set(drawn) == set(MARKERS) and fig.layout.showlegend
    assert len({(t.marker.symbol, t.marker.line.color if t.marker.color == "rgba(0,0,0,0)" else t.marker.color)
                for t in drawn.values()}) == len(MARKERS)  # no two meanings look alike
    assert [(x, y) for x, y in zip(drawn["edited square"].x, drawn["edited square"].y)] == [("d", "4")]
    assert [(x, y) for x, y in zip(drawn["probe reads it wrong"].x, drawn["probe reads it wrong"].y)] == [("e", "4")]
    strip = legal_strip_svg(np.array([1, 1, 0, 1, np.nan]), current=2)
    moves = re.findall(r'<rect x="([0-9.]+)"[^>]*fill="([^"]+)"><title>([^<]+)</title>', strip)
    assert [fill for _, fill, _ in moves] == [LEGAL, LEGAL, ILLEGAL, LEGAL, NO_PREDICTION]
    assert moves[2][2] == "after move 3: top-1 illegal" and "game is over" in moves[4][2]
    xs = [float(x) for x, _, _ in moves]
    line = float(re.search(r'<line x1="([0-9.]+)"', strip).group(1))
    assert xs[2] < line < xs[3]  # the line marks move 3 (position 2)
    assert "<line" not in legal_strip_svg(np.array([1.0, 0.0]))  # no move shown: no line
    plain = board_figure(cells)
    assert not plain.layout.showlegend and all(not t.showlegend for t in plain.data)  # nothing drawn: no legend


def test_accuracy_figure_has_one_curve_per_probe():
    row = lambda acc: {"cell_accuracy": acc, "board_accuracy": acc / 2, "per_square": [acc] * 64}  # noqa: E731
    report = {"layers": [0, 1, 2],
              "linear": {"mine_theirs": [row(0.8), row(0.9), row(0.95)], "black_white": [row(0.7)] * 3},
              "mlp": {"black_white": {"128": [row(0.75)] * 3, "512": [row(0.9)] * 3}},
              "baseline": {"black_white": 0.6}}
    fig = accuracy_figure(report)
    names = [t.name for t in fig.data]
    assert names == ["linear mine/theirs", "linear black/white", "MLP-128 black/white", "MLP-512 black/white"]
    assert list(fig.data[0].y) == [0.8, 0.9, 0.95]
    assert list(accuracy_figure(report, "board_accuracy").data[0].y) == [0.4, 0.45, 0.475]


def test_training_figure_plots_error_against_games_and_marks_each_runs_final_evaluation():
    rows = [{"games_seen": 1000, "legal_top1": 0.9}, {"games_seen": 2000, "legal_top1": 0.99},
            {"games_seen": 2000, "legal_top1": 0.995, "final": True, "games": 10000},
            {"games_seen": 3000, "legal_top1": 0.996},  # a second run, trained on from the first
            {"games_seen": 3000, "legal_top1": 0.998, "final": True, "games": 5000}]
    fig = training_figure(rows)
    curve = traces(fig, "held-out games")[0]
    assert list(curve.x) == [1000, 2000, 3000] and np.allclose(curve.y, [0.1, 0.01, 0.004])
    finals, = traces(fig, "end of a run (larger held-out set)")
    assert list(finals.x) == [2000, 3000] and np.allclose(finals.y, [0.005, 0.002])
    assert list(finals.customdata) == [10000, 5000]
    assert fig.layout.yaxis.type == "log"


def test_error_by_move_figure_draws_one_rate_per_move_and_skips_moves_nobody_reached():
    counts = {"positions": [100, 100, 50, 0], "top1_errors": [0, 1, 5, 0]}
    fig = error_by_move_figure({"synthetic": counts, "eOthello": counts | {"top1_errors": [0, 0, 0, 0]}})
    synthetic, = traces(fig, "synthetic")
    assert list(synthetic.x) == [1, 2, 3, 4]
    assert list(synthetic.y[:3]) == [0.0, 0.01, 0.1] and synthetic.y[3] is None
    assert [list(c) for c in synthetic.customdata[:3]] == [[0, 100], [1, 100], [5, 50]]
    assert list(traces(fig, "eOthello")[0].y[:3]) == [0.0, 0.0, 0.0]


def test_probe_by_move_figure_is_a_layer_by_move_heatmap():
    rows = [{"by_move": [0.9, None, 0.8]}, {"by_move": [1.0, None, 0.95]}]
    fig = probe_by_move_figure(rows, ["embed", "after layer 1"], "linear mine/theirs")
    heat = fig.data[0]
    assert list(heat.y) == ["embed", "after layer 1"] and list(heat.x) == [1, 2, 3]
    z = np.array(heat.z, float)
    assert z[1, 2] == 0.95 and np.isnan(z[:, 1]).all()
    assert heat.zmin == 0.8 and heat.zmax == 1


def test_late_game_figure_draws_each_series_against_the_move_numbers():
    finding = {"moves": [11, 58, 59], "legal_moves": [8.5, 1.9, None], "mover_not_alternating": [0.0, 0.13, None],
               "own_probe_mine_theirs": [0.98, 0.84, None], "shared_probe_mine_theirs": [0.99, 0.85, None],
               "own_probe_black_white": [0.98, 0.93, None], "own_probe_blank": [1.0, 1.0, None],
               "model_legal_top1": [1.0, 0.999, None]}
    fig = late_game_figure(finding)
    assert len(fig.data) == len(LATE_GAME_SERIES)
    own, = traces(fig, LATE_GAME_SERIES[0][1])
    assert list(own.x) == [11, 58, 59] and list(own.y) == [0.98, 0.84, None]
    assert list(own.customdata[1]) == [1.9, 0.13] and np.isnan(own.customdata[2]).all()
    assert list(traces(fig, "colour probe trained at that move")[0].y) == [0.98, 0.93, None]


def test_dla_figure_groups_by_block_and_ranks_the_largest_components():
    from app.figures import dla_figure, dla_groups
    names = ["embed", "pos_embed"] + [n for l in range(2) for n in [f"L{l}H{h}" for h in range(4)] + [f"L{l} attn bias", f"L{l} MLP"]]
    values = np.random.default_rng(0).normal(size=len(names))
    labels, sums = dla_groups(names, values)
    assert labels == ["embed", "L0", "L1"]
    assert np.isclose(sum(map(sum, sums.values())), values.sum())  # every component counted once
    assert np.isclose(sums["MLP"][2], values[names.index("L1 MLP")])
    assert np.isclose(sums["attention (heads + bias)"][1], values[2:7].sum())  # L0's four heads and its bias
    fig = dla_figure(names, values, "d3", top=5)
    ranked = fig.data[-1]
    assert len(ranked.y) == 5 and set(ranked.y) == {names[i] for i in np.argsort(-np.abs(values))[:5]}
    assert len(fig.data[0].x) == 3  # three blocks on the axis, not one tick per component
