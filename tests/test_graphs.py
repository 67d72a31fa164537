"""circuit-tracer as the attribution engine on Othello-GPT: the replacement model computes the model's logits,
attributes the moves as they are (no BOS, no shifted or zeroed position), and explains the requested move."""
import numpy as np
import pytest
import torch

pytest.importorskip("circuit_tracer")
from othello_core.analysis.graphs.attribution import attribution_graph, summarize  # noqa: E402
from othello_core.analysis.graphs.replacement import MoveTokenizer, replacement_model  # noqa: E402
from othello_core.analysis.transcoders.report import load_set  # noqa: E402
from othello_core.analysis.transcoders.training import train_set  # noqa: E402
from othello_core.model.hooked_transformer import build_model  # noqa: E402
from othello_core.rules.games import random_games  # noqa: E402
from othello_core.rules.vocab import moves_to_tokens  # noqa: E402

from tests.test_transcoders import RECIPE, TINY  # noqa: E402  (the same tiny model and recipe)


@pytest.fixture(scope="module")
def replacement(tmp_path_factory):
    model = build_model(TINY, device="cpu", seed=0)
    run = tmp_path_factory.mktemp("transcoders")
    train_set(model, RECIPE, run, run / "acts", "tiny", "h0", log=lambda _: None)
    return model, replacement_model(model, load_set(run, TINY.n_layers), scan="tiny")


def test_the_replacement_model_with_error_terms_computes_the_models_logits(replacement):
    model, rm = replacement
    tokens = torch.as_tensor(random_games(2, seed=3).tokens[:, :10])  # 20 positions
    with torch.no_grad():
        assert (rm(tokens) - model(tokens)).abs().max() < 1e-4


def test_features_and_errors_rebuild_every_mlp_output_at_every_position(replacement):
    model, rm = replacement
    tokens = torch.as_tensor(random_games(1, seed=4).tokens[0, :12])
    ctx = rm.setup_attribution(tokens)
    _, cache = model.run_with_cache(tokens[None])
    rebuilt = ctx.error_vectors + torch.stack([rm.transcoders[b](cache[f"blocks.{b}.ln2.hook_normalized"][0])
                                               for b in range(TINY.n_layers)])
    mlp_out = torch.stack([cache[f"blocks.{b}.hook_mlp_out"][0] for b in range(TINY.n_layers)])
    assert (rebuilt - mlp_out).abs().max() < 1e-4
    assert (ctx.error_vectors[:, 0] != 0).any()  # position 0 is a move, not a BOS to zero


def test_a_graph_attributes_the_moves_as_they_are_and_explains_the_asked_move(replacement):
    _, rm = replacement
    game = random_games(1, seed=5)
    moves = tuple(game.squares[0, :game.lengths[0]].tolist())
    position = 9
    target = int(moves[position + 1])  # the move actually played next: legal
    graph = attribution_graph(rm, moves, position, target=target, batch_size=64)
    assert graph.input_tokens.tolist() == moves_to_tokens(moves[:position + 1])  # no BOS prepended
    summary = summarize(graph, position)
    assert summary.target == target and summary.position == position
    assert 0 <= summary.replacement_score <= 1 and 0 <= summary.completeness_score <= 1
    assert 0 < summary.n_kept <= graph.adjacency_matrix.shape[0]


def test_the_tokenizer_shim_names_squares():
    t = MoveTokenizer()
    assert t.decode([34, 40, 19]) == "f5 d6 c3" and t.encode("f5 d6 c3") == [34, 40, 19]
    assert np.array_equal(t.encode("F5D6"), [34, 40])


@pytest.fixture(scope="module")
def service(replacement):
    """The tiny model behind the replacement model, with probes of its own (an edit needs their directions)."""
    from tests.tiny import tiny_service
    return tiny_service(replacement[0])


def test_the_readout_row_is_the_full_graphs_logit_row_over_every_feature(replacement):
    """``readout_row`` (one backward pass) gives the same direct inputs to a logit as circuit-tracer's whole
    graph with no feature budget: every active feature, error node and input move, in the graph's order."""
    from othello_core.analysis.graphs.edit_paths import readout_row
    _, rm = replacement
    game = random_games(1, seed=5)
    moves = tuple(game.squares[0, :game.lengths[0]].tolist())
    position, target = 9, int(moves[10])
    graph = attribution_graph(rm, moves, position, target=target, max_feature_nodes=None, batch_size=64)
    n_nodes = graph.adjacency_matrix.shape[0] - 1
    token = int(graph.logit_targets[0].vocab_idx)
    w_u = rm.W_U.detach().float()
    row, layers, n_layers, n_pos = readout_row(rm, torch.tensor(moves_to_tokens(moves[:position + 1])),
                                              w_u[:, token] - w_u.mean(1))
    assert len(graph.selected_features) == len(layers) and row.shape == (n_nodes,)
    assert np.allclose(row, graph.adjacency_matrix[-1, :-1].float().numpy(), atol=1e-4)


def test_an_edits_change_is_split_by_the_readout_rows_before_and_after(replacement, service):
    """A null edit changes nothing; an edit's measured change is the model's own (the hook added in the
    replacement model reproduces the edit); an edit of the last stream has no later block to act through."""
    from othello_core.analysis.graphs.edit_paths import PARTS, edit_paths, summarize_edit_paths
    from othello_core.analysis.interventions import Edit, benchmark_rows, edit_hook, rows_for_game
    from othello_core.rules.notation import SQUARE_TO_TOKEN
    from othello_core.rules.vocab import tokens_to_squares
    _, rm = replacement
    rows, _ = benchmark_rows(2, 0, seed=0)
    moves = tuple(int(s) for s in tokens_to_squares(rows.tokens[0].numpy()) if s >= 0)
    position, square = int(rows.pos[0]), rows.squares[0]
    none = edit_paths(rm, service, moves, position, Edit(square, "flip", (1,), scale=0.0))
    assert abs(none["change"]) < 1e-4 and all(abs(none["parts"][k]) < 1e-3 for k in PARTS)
    edit = Edit(square, "flip", (1,), scale=2.0)
    mid = edit_paths(rm, service, moves, position, edit)
    weights = torch.zeros(rm.cfg.d_vocab)
    for squares, sign in ((mid["gained"], 1.0), (mid["lost"], -1.0)):
        if squares:
            weights[[SQUARE_TO_TOKEN[s] for s in squares]] = sign / len(squares)
    game_rows = rows_for_game(moves, position, edit.squares)
    tokens = torch.tensor([moves_to_tokens(moves[:position + 1])])
    hooks = [("blocks.0.hook_resid_post", edit_hook(edit, service.probes, 1, game_rows, torch.Generator()))]
    edited, _ = service.run(tokens, fwd_hooks=hooks)
    assert mid["measure"]["after"] == pytest.approx(float(edited[0, -1].float() @ weights), abs=1e-4)
    assert abs(mid["change"]) > 1e-3 and abs(mid["parts"]["later"]) > 1e-4  # block 1 read the edited stream
    last = edit_paths(rm, service, moves, position, Edit(square, "flip", (2,), scale=2.0))
    assert last["parts"]["later"] == 0.0 and abs(last["change"]) > 1e-3
    summary = summarize_edit_paths([mid, last])
    assert set(summary["share"]) == set(PARTS) and sum(summary["share"].values()) == pytest.approx(1, abs=1e-3)
