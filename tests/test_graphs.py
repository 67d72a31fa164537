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
