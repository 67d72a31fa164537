"""Attribution adds up, patching identical inputs does nothing, edit diffs are consistent."""
import threading

import numpy as np
import pytest
import torch

from othello_core.analysis import attribution as A

from othello_core.analysis.interventions import Edit
from othello_core.analysis.service import ModelService
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape
from othello_core.rules.notation import parse_moves

from .test_interventions import random_probes

MOVES = tuple(parse_moves("f5 d6 c3 d3 c4 f4 c5 b3"))


@pytest.fixture(scope="module")
def service():
    model = build_model(ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64), device="cpu", seed=5)
    return ModelService(model, "tiny", probes=random_probes(3, 32, seed=1))


@pytest.mark.parametrize("square", parse_moves("e3 a1 h8"))
def test_attribution_sums_to_the_logit(service, square):
    comp = A.components(service, MOVES, 7)
    dla = A.direct_logit_attribution(service, comp, square)
    total = dla["contributions"].sum() + dla["bias"]
    assert total == pytest.approx(dla["logit"], abs=1e-4)
    # an MLP's output is the sum of its neurons (+ b_out) in the same frame
    names = dla["names"]
    mlp = dla["contributions"][names.index("L1 MLP")]
    from othello_core.rules.notation import SQUARE_TO_TOKEN
    u = service.model.W_U[:, SQUARE_TO_TOKEN[square]]
    b_out = service.model.blocks[1].mlp.b_out
    with torch.inference_mode():
        bias_part = float(((b_out - b_out.mean()) @ u) / comp.scale)
    assert dla["neurons"][1].sum() + bias_part == pytest.approx(mlp, abs=1e-4)


def test_logit_lens_last_stream_is_the_model_output(service):
    analysis = service.analyze(MOVES)
    lens = A.logit_lens(service, analysis)
    assert lens.shape == (3, 8, 64)
    assert np.allclose(lens[-1], analysis.move_probs, atol=1e-5)


def test_patching_identical_games_has_zero_effect(service):
    result = A.activation_patching(service, MOVES, MOVES)
    for grid in result["effects"].values():
        assert grid.shape == (2, 8) and np.abs(grid).max() < 1e-5


def test_patching_a_corrupted_game_recovers_at_the_last_resid(service):
    index, corrupt = next((i, c) for i in range(len(MOVES)) if (c := A.corrupt_one_move(MOVES, i)))
    assert corrupt[index] != MOVES[index] and corrupt[:index] == MOVES[:index]
    result = A.activation_patching(service, MOVES, corrupt)
    # only the token at `index` differs: restoring the embedding there recovers the clean run
    # exactly, while patching the (identical) embedding of any other position changes nothing
    denom = result["clean_metric"] - result["corrupted_metric"]
    first_layer = result["effects"]["resid_pre"][0]
    assert first_layer[index] == pytest.approx(denom, abs=1e-4)
    assert np.abs(np.delete(first_layer, index)).max() < 1e-5
    assert result["recovered"]["resid_pre"][0, index] == pytest.approx(1.0, abs=1e-3) or abs(denom) < 1e-6


@pytest.mark.parametrize("group, at", [(1, 7), (3, 7), (A.PATCH_GROUP, 7), (A.PATCH_GROUP, 5)])
def test_batched_patching_equals_patching_one_cell_at_a_time_by_a_whole_forward(service, group, at):
    """The definition, cell by cell: the clean activation at (layer, position) put into a full corrupted forward,
    the metric read at move ``at + 1``, whatever number of positions one batched forward patches (each forward
    reads its earlier positions' keys and values from the corrupted run; the attention and MLP rows start a layer
    later; cells that cannot reach the metric are 0)."""
    from othello_core.rules.games import game_labels
    from othello_core.rules.hooks import BLOCK_OUTPUTS
    from othello_core.rules.notation import SQUARE_TO_TOKEN
    from othello_core.rules.vocab import moves_to_tokens
    def changes_the_metric(c):
        return c is not None and (game_labels(c)["legal"][at] != game_labels(MOVES)["legal"][at]).any()
    index, corrupt = next((i, c) for i in range(at) if changes_the_metric(c := A.corrupt_one_move(MOVES, i)))
    steps = []
    result = A.activation_patching(service, MOVES, corrupt, position=at, group=group,
                                   progress=lambda done, total: steps.append((done, total)))
    forwards = 3 * -(-(at + 1 - index) // group)  # from layer 0, 1 and past the last, each group of positions
    assert steps == [(done, forwards) for done in range(1, forwards + 1)]
    clean, corrupted = torch.tensor([moves_to_tokens(MOVES)]), torch.tensor([moves_to_tokens(corrupt)])
    legal = {name: game_labels(moves)["legal"][at] for name, moves in (("clean", MOVES), ("corrupt", corrupt))}
    up = [SQUARE_TO_TOKEN[s] for s in np.flatnonzero(legal["clean"] & ~legal["corrupt"])]
    down = [SQUARE_TO_TOKEN[s] for s in np.flatnonzero(legal["corrupt"] & ~legal["clean"])]
    assert up or down  # the corruption changes what is legal there

    def metric(logits):  # as defined: a side with no move counts 0
        return float((logits[0, at, up].mean() if up else 0) - (logits[0, at, down].mean() if down else 0))
    assert result["corrupted_metric"] == pytest.approx(metric(service.run(corrupted)[0]), abs=1e-5)
    checked = 0
    for kind, hook in BLOCK_OUTPUTS.items():
        _, cache = service.run(clean, names=[hook(l) for l in range(2)])
        for layer in range(2):
            for pos in range(len(MOVES)):  # before the corrupted move and after the metric's too (exactly 0)
                def put(act, hook, saved=cache[hook(layer)], pos=pos):
                    act = act.clone()
                    act[:, pos] = saved[:, pos]
                    return act
                patched = metric(service.run(corrupted, fwd_hooks=[(hook(layer), put)])[0])
                assert result["effects"][kind][layer, pos] == pytest.approx(patched - result["corrupted_metric"], abs=1e-4)
                checked += 1
    assert checked == 6 * len(MOVES) and index > 0
    assert np.abs(result["effects"]["attn_out"]).max() > 1e-3 and np.abs(result["effects"]["mlp_out"]).max() > 1e-3


def test_patching_runs_beside_a_visitors_forward_and_a_second_core_gives_the_same_cells(service, monkeypatch):
    """Patching's forwards run on the service's hook-free copy without the lock: a visitor holding the lock does
    not stop them, and after the two runs that read the clean and corrupted activations the count of model calls
    (what ``SpareCore`` watches for visitors) stands still, the copy's making included. Split between two threads
    (a core always spare; the first two forwards made to run at once, one in each) they write the very cells one
    thread writes."""
    index, corrupt = next((i, c) for i in range(1, 5) if (c := A.corrupt_one_move(MOVES, i)))
    first = service.lock.uses
    one = A.activation_patching(service, MOVES, corrupt)  # makes the copy, under the lock, not counted
    assert service.lock.uses == first + 2
    model = service.hook_free_model()
    assert model is not service.model and model is service.hook_free_model()
    assert not any(hp.fwd_hooks for hp in model.hook_dict.values())
    forward, both, threads, calls = service.run_from_to_last, threading.Barrier(2, timeout=30), [], []

    def paired(*args, **kwargs):
        threads.append(threading.current_thread().name)
        if len(threads) <= 2:
            both.wait()
        return forward(*args, **kwargs)
    monkeypatch.setattr(service, "run_from_to_last", paired)
    before = service.lock.uses
    two = A.activation_patching(service, MOVES, corrupt, spare=lambda: calls.append(service.lock.uses) or True)
    assert service.lock.uses == before + 2 and set(calls) == {before + 2}
    assert set(threads[:2]) == {threading.current_thread().name, "spare core"}
    for kind in one["effects"]:
        np.testing.assert_array_equal(one["effects"][kind], two["effects"][kind])
    assert np.abs(one["effects"]["attn_out"]).max() > 1e-3
    monkeypatch.undo()
    tokens, result = torch.tensor([[5, 9]]), {}
    stream = model.embed(tokens) + model.pos_embed(tokens)
    with service.lock:  # a visitor's forward: patching's goes on
        worker = threading.Thread(target=lambda: result.update(logits=service.run_from_to_last(1, stream)))
        worker.start()
        worker.join(20)
        assert "logits" in result and result["logits"].shape == (1, model.cfg.d_vocab)


def test_patching_at_an_earlier_position_is_patching_the_line_cut_there(service):
    """The metric read at move 6 of 8: the same as patching the first 6 moves alone (the model is causal), and the
    later positions, which cannot reach it, exactly 0."""
    index, corrupt = next((i, c) for i in range(1, 5) if (c := A.corrupt_one_move(MOVES, i)))
    at = A.activation_patching(service, MOVES, corrupt, position=5)
    cut = A.activation_patching(service, MOVES[:6], corrupt[:6])
    assert abs(cut["clean_metric"] - cut["corrupted_metric"]) > 1e-3  # the corruption moves the metric at move 6
    for kind, grid in at["effects"].items():
        assert np.allclose(grid[:, :6], cut["effects"][kind], atol=1e-4)
        assert not grid[:, 6:].any()


def test_edit_diff_accounts_for_the_whole_change(service):
    d4 = parse_moves("d4")[0]
    diff = A.edit_diff(service, MOVES, 7, Edit((d4,), "flip", (1,), scale=1.0))
    assert sum(diff["dla"].values()) == pytest.approx(diff["total_at_edited_scale"], abs=1e-4)
    assert diff["gained"] or diff["lost"]
    assert "direct path (the edit itself)" in diff["dla"]
    assert set(diff["through_one_component"]) == {"L1 attn", "L1 MLP"}
    assert isinstance(A.summarize_edit_diff(diff), str)
