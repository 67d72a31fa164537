"""Interventions: no-op edits, hook hygiene, a planted toy model with a known answer, the sweep."""
import json
import threading

import numpy as np
import pytest
import torch

from othello_core.analysis import interventions as I

from othello_core.model.hooked_transformer import build_model

from othello_core.analysis.probes import FitSettings, ProbeSet, fit_mlp
from othello_core.analysis.service import ModelService
from othello_core.model.weights import ModelShape
from othello_core.paths import BUNDLED_DIR
from othello_core.rules.notation import parse_moves
from othello_core.rules.vocab import tokens_to_squares

MOVES = tuple(parse_moves("f5 d6 c3 d3 c4 f4 c5 b3"))
D4 = parse_moves("d4")[0]
SHAPE = ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64)


def random_probes(n_streams: int, d: int, seed: int = 0, same_every_stream: bool = False) -> ProbeSet:
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(1 if same_every_stream else n_streams, d, 64, 3, generator=gen).expand(n_streams, -1, -1, -1)
    x = torch.randn(n_streams, 200, d, generator=gen)
    y = torch.randint(0, 3, (200, 64), generator=gen)
    return ProbeSet("toy", n_streams, linear={"mine_theirs": (w, torch.zeros(n_streams, 64, 3))},
                    mlp={("mine_theirs", 16): fit_mlp(x, y, 3, 16, FitSettings(lr=2e-3, batch=256, max_epochs=1)).params})


@pytest.fixture(scope="module")
def service():
    model = build_model(SHAPE, device="cpu", seed=1)
    return ModelService(model, "tiny", probes=random_probes(3, 32))


def test_scale_zero_is_no_edit_and_hooks_leave_no_trace(service):
    tokens = torch.tensor([[34, 40, 19, 20, 27, 30, 31, 21]])
    clean, _ = service.run(tokens)
    result = I.apply_edit(service, MOVES, 7, I.Edit((D4,), "flip", (1, 2), scale=0.0))
    assert np.array_equal(result.edited_probs, result.clean_probs)
    strong = I.apply_edit(service, MOVES, 7, I.Edit((D4,), "flip", (1,), scale=1.0))
    assert not np.allclose(strong.edited_probs, strong.clean_probs)
    after, _ = service.run(tokens)
    assert torch.equal(after, clean)  # bit for bit once the hooks are gone


def test_an_edit_of_the_last_move_runs_one_token_from_a_kept_line_and_equals_the_whole_forward(service):
    """With the line's keys and values kept (Play or Interventions analysed it), an edit of the last position runs
    that token alone, clean and edited: the same predictions as the whole forwards of a service that keeps nothing,
    for every method; an edit of every position runs the whole line."""
    fresh = ModelService(service.model, "fresh", probes=service.probes)
    service.analyze(MOVES)
    assert service.kept_prefix(MOVES, 7) is not None and fresh.kept_prefix(MOVES, 7) is None
    assert service.kept_prefix(MOVES[:6] + (MOVES[7],), 7) is None  # another line
    lengths = []
    run = service.run
    service.run = lambda tokens, **kw: (lengths.append(tokens.shape[1]), run(tokens, **kw))[1]
    try:
        for method in I.METHODS:
            change = I.Edit((D4,), "flip", (1, 2), method=method, steps=5, scale=0.5)
            got, want = I.apply_edit(service, MOVES, 7, change), I.apply_edit(fresh, MOVES, 7, change)
            np.testing.assert_allclose(got.clean_probs, want.clean_probs, atol=2e-5)
            np.testing.assert_allclose(got.edited_probs, want.edited_probs, atol=2e-5)
            assert not np.allclose(got.edited_probs, got.clean_probs, atol=1e-4)  # the edit does something
        assert lengths == [1, 1] * len(I.METHODS)  # clean and edited: one token each
        every = I.Edit((D4,), "flip", (1,), positions="all", scale=0.5)
        lengths.clear()
        assert np.array_equal(I.apply_edit(service, MOVES, 7, every).edited_probs,
                              I.apply_edit(fresh, MOVES, 7, every).edited_probs)
        assert lengths and min(lengths) == 8  # the whole line
    finally:
        del service.run


def test_every_method_runs_and_the_ground_truth_follows_the_rules(service):
    for method in I.METHODS:
        result = I.apply_edit(service, MOVES, 7, I.Edit((D4,), "flip", (2,), method=method, steps=5))
        assert np.isclose(result.edited_probs.sum(), 1, atol=1e-5)
        assert result.board_after[D4] != result.board_before[D4] != 0
    # the edited board's legal moves, straight from the scalar rules
    from othello_core.rules.board import Board, parse_game
    board = parse_game("f5 d6 c3 d3 c4 f4 c5 b3").board
    bit = 1 << D4
    flipped = Board(board.black ^ bit, board.white ^ bit, board.to_move)
    expected = np.zeros(64, bool)
    expected[flipped.legal_moves()] = True
    assert (result.legal_after == expected).all()
    assert (result.legal_before == np.isin(np.arange(64), board.legal_moves())).all()
    assert len(result.flipped_legality) > 0


def test_legality_mass_sums_the_probability_on_moves_the_edit_makes_legal_and_illegal():
    legal_before, legal_after = np.zeros(64, bool), np.zeros(64, bool)
    legal_before[[1, 2, 3]] = True
    legal_after[[2, 3, 9, 10]] = True  # 9 and 10 made legal, 1 made illegal
    clean, edited = np.zeros(64), np.zeros(64)
    clean[[1, 2, 3, 9]] = [0.5, 0.3, 0.19, 0.01]
    edited[[1, 2, 3, 9, 10]] = [0.05, 0.4, 0.4, 0.1, 0.05]
    result = I.EditResult(0, (), clean, edited, legal_before, legal_after, np.zeros(64), np.zeros(64))
    mass = result.legality_mass()
    assert mass["made_legal"] == pytest.approx({"squares": 2, "before": 0.01, "after": 0.15})
    assert mass["made_illegal"] == pytest.approx({"squares": 1, "before": 0.5, "after": 0.05})
    assert mass["kept_legal"] == pytest.approx({"squares": 2, "before": 0.49, "after": 0.8})


def test_the_outcome_table_states_each_error_count_and_mass_with_its_change_coloured_by_direction():
    from othello_core.reports.edit_report import outcome_caption, outcome_rows, outcome_table
    legal_before, legal_after = np.zeros(64, bool), np.zeros(64, bool)
    legal_before[[1, 2, 3]] = True
    legal_after[[2, 3, 9, 10]] = True
    clean, edited = np.zeros(64), np.zeros(64)
    clean[[1, 2, 3, 9]] = [0.5, 0.3, 0.19, 0.01]
    edited[[1, 2, 3, 9, 10]] = [0.05, 0.4, 0.4, 0.1, 0.05]
    errors = {"clean_vs_edited_board": {"nanda": 5, "li": 2}, "edited_vs_edited_board": {"nanda": 1, "li": 2},
              "clean_vs_true_board": {"nanda": 1}}
    result = I.EditResult(0, (), clean, edited, legal_before, legal_after, np.zeros(64), np.zeros(64), errors)
    rows = outcome_rows(result)
    assert rows[0][1:] == ("5", "1", ":green[-4]")  # fewer errors: the way a working edit goes
    assert rows[1][1:] == ("2", "2", "+0")
    assert rows[2] == ("P on the 2 moves the edit makes legal", "0.010", "0.150", ":green[+0.140]")
    assert rows[3] == ("P on the 1 move the edit makes illegal", "0.500", "0.050", ":green[-0.450]")
    assert rows[4][3] == ":green[+0.310]"
    result.edited_probs[[2, 3]] = 0.0  # the moves still legal lose their probability: red
    assert outcome_rows(result)[4][2:] == ("0.000", ":red[-0.490]")
    assert outcome_table(result).count("\n") == 6 and "| P on the 2 moves the edit makes legal |" in outcome_table(result)
    assert "b1 (now illegal), b2 (now legal), c2 (now legal)" in outcome_caption(result)
    none = I.EditResult(0, (), clean, clean, legal_before, legal_before, np.zeros(64), np.zeros(64), errors)
    assert outcome_rows(none)[2] == ("P on the moves the edit makes legal (none)", "—", "—", "—")
    assert "no move" in outcome_caption(none)
    none.edited_probs = clean - 1e-6  # a change that rounds to nothing reads +0.000, not -0.000
    assert outcome_rows(none)[4][3] == "+0.000"


def test_the_before_board_is_the_true_board_for_20_random_edits(service):
    from othello_core.rules.games import game_labels, random_games
    rng = np.random.default_rng(0)
    games = random_games(20, seed=11)
    for g in range(20):
        moves = tuple(games.squares[g, :games.lengths[g]].tolist())
        position = int(rng.integers(5, min(len(moves), 59) - 1))
        truth = game_labels(moves)["relative"][position]
        occupied = np.flatnonzero(truth > 0)
        squares = tuple(int(s) for s in rng.choice(occupied, size=int(rng.integers(1, 3)), replace=False))
        mode = str(rng.choice(["flip", "blank"]))
        result = I.apply_edit(service, moves, position, I.Edit(squares, mode, (1,), scale=0.5))
        assert (result.board_before == truth).all()
        assert (result.board_after[list(squares)] != truth[list(squares)]).all()


def test_error_counts():
    legal = np.zeros(64, bool)
    legal[[1, 2, 3]] = True
    probs = np.zeros(64)
    probs[[1, 2, 9]] = [0.5, 0.3, 0.2]
    assert I.error_counts(probs, legal) == (2, 1)  # top-3 = {1, 2, 9}: FP 9, FN 3


def test_planted_toy_model_edit_matches_the_hand_computation():
    """Blocks write nothing, so every stream is embed + pos and the edit's effect on the logits
    is LN(x + a|x|d) W_U + b_U, whatever layer it is applied at."""
    model = build_model(SHAPE, device="cpu", seed=2)
    with torch.no_grad():
        for block in model.blocks:
            block.attn.W_O.zero_(); block.attn.b_O.zero_(); block.mlp.W_out.zero_(); block.mlp.b_out.zero_()
    probes = random_probes(3, 32, seed=3, same_every_stream=True)
    service = ModelService(model, "toy", probes=probes)
    rows = I.rows_for_game(MOVES, 7, (D4,))
    before = rows.relative[0, 7, D4]
    after = I.edited_classes(rows.relative[0, 7], (D4,), "flip")[D4]
    outputs = []
    for layer in (1, 2):
        outputs.append(I.run_rows(service, rows, I.Edit((D4,), "flip", (layer,), scale=0.7))[0])
    assert np.allclose(outputs[0], outputs[1], atol=1e-6)
    with torch.no_grad():
        _, cache = model.run_with_cache(rows.tokens)
        x = cache["blocks.0.hook_resid_pre"][0, 7]
        w = probes.linear["mine_theirs"][0][1]
        d = w[:, D4, after] - w[:, D4, before]
        d = d / d.norm()
        y = x + 0.7 * x.norm() * d
        y = (y - y.mean()) / ((y - y.mean()).pow(2).mean() + 1e-5).sqrt()
        logits = y @ model.W_U + model.b_U
        logits[0] = -float("inf")
        expected = torch.softmax(logits, -1).numpy()
    from othello_core.rules.vocab import token_probs_to_squares
    assert np.allclose(outputs[0], token_probs_to_squares(expected), atol=1e-5)


def test_concurrent_edits_stay_in_their_session(service):
    clean = I.apply_edit(service, MOVES, 7, I.Edit((D4,), "flip", (1,), scale=0.0)).clean_probs
    results, errors = [], []

    def editing():
        for _ in range(15):
            results.append(("edit", I.apply_edit(service, MOVES, 7, I.Edit((D4,), "flip", (1,), scale=2.0))))

    def viewing():
        for _ in range(30):
            a = service.analyze(MOVES)
            errors.append(np.abs(a.move_probs[7] - clean).max())

    threads = [threading.Thread(target=editing), threading.Thread(target=viewing)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(errors) < 1e-6
    assert all(not np.allclose(r.edited_probs, clean) for _, r in results)


def test_sweep_json_schema(service):
    rows, origin = I.benchmark_rows(n_synthetic=6, n_real=4, seed=0)
    assert len(rows.pos) == 10 and origin.count("eothello") == 4
    settings = I.sweep_settings(service.n_layers, scales=(0.5,))
    result = json.loads(json.dumps(I.run_sweep(service, rows, origin, settings=settings)))
    assert set(result) >= {"positions", "sources", "n_layers", "model_hash", "best_single_layer", "settings"}
    names = [r["name"] for r in result["settings"]]
    assert names[0] == "no edit" and any(n.startswith("control: random direction") for n in names)
    assert any(n.startswith("control: wrong square") for n in names)
    for row in result["settings"]:
        assert set(row) == {"name", "kind", "edit", "success_rate", "mean_errors_nanda",
                            "mean_errors_li", "success_by_source", "mass", "moved_rate"}
        assert 0 <= row["success_rate"] <= 1 and row["mean_errors_nanda"] >= row["mean_errors_li"]
        assert 0 <= row["moved_rate"] <= 1 and set(row["mass"]) == {"made_legal", "made_illegal", "kept_legal"}
    clean = result["settings"][0]  # every benchmark position changes a move's legality: no edit moves none
    assert clean["moved_rate"] == 0 and all(m["before"] == m["after"] for m in clean["mass"].values())


def test_the_sweeps_legality_mass_is_the_single_edits_averaged_over_its_positions(service):
    """The sweep's batched mass equals EditResult.legality_mass of each position edited alone, averaged over the
    positions that have moves of that kind."""
    rows, origin = I.benchmark_rows(n_synthetic=5, n_real=0, seed=3)
    edit = I.Edit((), "flip", (service.n_layers // 2,), scale=0.5)
    row = I.run_sweep(service, rows, origin, settings=[("x", edit, "single")])["settings"][0]
    singles = []
    for b, position in enumerate(rows.pos):
        moves = [s for s in tokens_to_squares(rows.tokens[b]) if s >= 0]
        singles.append(I.apply_edit(service, moves, int(position),
                                    I.Edit(rows.squares[b], "flip", edit.layers, scale=0.5)).legality_mass())
    for kind in ("made_legal", "made_illegal", "kept_legal"):
        having = [m[kind] for m in singles if m[kind]["squares"]]
        assert row["mass"][kind]["before"] == pytest.approx(np.mean([m["before"] for m in having]), abs=2e-4)
        assert row["mass"][kind]["after"] == pytest.approx(np.mean([m["after"] for m in having]), abs=2e-4)
    moved = [(m["made_legal"]["after"] > m["made_legal"]["before"] or not m["made_legal"]["squares"])
             and (m["made_illegal"]["after"] < m["made_illegal"]["before"] or not m["made_illegal"]["squares"])
             for m in singles]
    assert row["moved_rate"] == pytest.approx(np.mean(moved), abs=1e-4)


def test_the_sweep_grid_reads_each_settings_recorded_edit_not_its_name():
    sweep = json.loads((BUNDLED_DIR / "edit_sweep.json").read_text())
    layers, scales, grid = I.single_layer_grid(sweep)
    by_name = {r["name"]: r["success_rate"] for r in sweep["settings"]}
    for i, scale in enumerate(scales):
        for j, layer in enumerate(layers):
            assert grid[i, j] == by_name[f"after L{layer - 1} add x{scale:g}"]  # stream `layer` is after L{layer-1}
    renamed = {**sweep, "settings": [{**r, "name": f"setting {k}"} for k, r in enumerate(sweep["settings"])]}
    assert np.array_equal(I.single_layer_grid(renamed)[2], grid, equal_nan=True)
