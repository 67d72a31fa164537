"""The single locked model service: analysis values, hook hygiene, session isolation."""
import json
import threading
import time

import numpy as np
import pytest
import torch

from othello_core.analysis.service import ModelService
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape, model_hash, save_model
from othello_core.rules.board import parse_game
from othello_core.rules.notation import parse_moves

from .test_board import SHORTEST


@pytest.fixture(scope="module")
def service():
    model = build_model(ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64), device="cpu", seed=0)
    return ModelService(model, "tiny")


def test_a_loaded_service_carries_the_hash_of_its_weights(service, tmp_path):
    """Loaded from a folder: the hash it reports is the weights' own and the one recorded at export;
    a folder without probes still loads and says why there are none."""
    save_model(service.model, tmp_path)
    loaded = ModelService.load(str(tmp_path), device="cpu")
    recorded = json.loads((tmp_path / "config.json").read_text())["weights_hash"]
    assert loaded.hash == model_hash(loaded.model) == recorded  # of the fp16 weights written, not the fp32 original
    assert loaded.probes is None and loaded.probe_error and loaded.folder == tmp_path


def test_analysis_matches_the_rules(service):
    moves = tuple(parse_moves("f5 d6 c3 d3 c4"))
    a = service.analyze(moves)
    assert a.move_probs.shape == (5, 64) and a.patterns.shape == (2, 4, 5, 5)
    assert np.allclose(a.move_probs.sum(-1), 1, atol=1e-5)
    assert (a.move_probs[:, [27, 28, 35, 36]] == 0).all()
    game = parse_game("f5 d6 c3 d3 c4")
    for p in range(5):
        board = game.boards[p + 1]
        assert sorted(np.flatnonzero(a.legal[p])) == board.legal_moves()
    assert np.allclose(np.tril(a.patterns[0, 0]).sum(-1), 1, atol=1e-5)  # causal rows sum to 1
    best, prob, legal = a.top_moves(2, k=1)[0]
    assert prob == a.move_probs[2].max() and legal == bool(a.legal[2, best])


def test_positions_after_the_end_have_no_top1_score(service):
    a = service.analyze(tuple(parse_moves(SHORTEST)))
    top1 = a.top1_legal()
    assert np.isnan(top1[-1]) and not np.isnan(top1[:-1]).any()


def test_hooks_are_removed_even_when_one_raises(service):
    tokens = torch.tensor([[34, 40, 19]])
    clean, _ = service.run(tokens)

    def broken(resid, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        service.run(tokens, fwd_hooks=[("blocks.0.hook_resid_post", broken)])
    after, _ = service.run(tokens)
    assert torch.equal(after, clean)
    assert all(not hp.fwd_hooks for hp in service.model.hook_dict.values())


def test_two_sessions_never_see_each_others_edits(service):
    """One thread runs an edit whose hook lingers; another only runs clean analyses."""
    tokens = torch.tensor([[34, 40, 19, 20]])
    clean, _ = service.run(tokens)

    def slow_edit(resid, hook):
        time.sleep(0.002)  # widen the window in which another thread could slip in
        return resid * 0

    seen = []
    stop = time.time() + 3

    def editor():
        while time.time() < stop:
            edited, _ = service.run(tokens, fwd_hooks=[("blocks.1.hook_resid_pre", slow_edit)])
            seen.append(("edit", torch.equal(edited, clean)))

    def viewer():
        while time.time() < stop:
            logits, _ = service.run(tokens)
            seen.append(("clean", torch.equal(logits, clean)))

    threads = [threading.Thread(target=editor), threading.Thread(target=viewer), threading.Thread(target=viewer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clean_runs = [ok for kind, ok in seen if kind == "clean"]
    edit_runs = [ok for kind, ok in seen if kind == "edit"]
    assert len(clean_runs) > 20 and len(edit_runs) > 20
    assert all(clean_runs)  # never contaminated by the edit
    assert not any(edit_runs)  # and the edit really changes the output


@pytest.mark.parametrize("source", ["tiny", "bundled"])
def test_a_line_one_move_longer_runs_one_token_and_equals_the_whole_forward(service, source):
    """Playing a move extends the last analysis (the new token reads the kept keys and values): the predictions,
    streams and attention equal a fresh service's whole forward, at every length up to the model's context."""
    from othello_core.analysis.service import PREFIXES_KEPT
    from othello_core.rules.games import random_games
    if source == "bundled":
        service = ModelService.load("bundled")
    line = tuple(int(s) for s in random_games(1, seed=7).squares[0, :60])
    fresh = ModelService(service.model, "fresh")
    before = service.extended
    for n in (1, 2, 3, 20, 21, 58, 59, 60):
        if n in (20, 58):  # a line pasted whole: one whole forward, then extended
            service.analyze(line[:n - 1])
        got = service.analyze(line[:n])
        fresh._prefixes.clear()
        want = fresh.analyze(line[:n])  # the whole forward
        assert got.moves == want.moves and got.move_probs.shape == want.move_probs.shape
        np.testing.assert_allclose(got.move_probs, want.move_probs, atol=2e-5)
        np.testing.assert_allclose(got.patterns, want.patterns, atol=2e-5)
        np.testing.assert_allclose(got.resid, want.resid, atol=2e-4, rtol=1e-4)
        for field in ("legal", "board", "relative", "flipped", "to_move"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), field
    assert service.extended - before == 6  # 2, 3, 20, 21, 58, 59 extended; 1 and 60 (past the context) whole
    for k in range(PREFIXES_KEPT + 1):  # only the latest lines are kept
        service.analyze(line[:k + 1])
    assert len(service._prefixes) == PREFIXES_KEPT and line[:1] not in service._prefixes


def test_two_moves_played_from_one_kept_line_each_equal_the_whole_forward(service):
    """Going back a move and playing another extends the same kept line again: the first extension left its keys
    and values as they were (``fork_cache``)."""
    from othello_core.rules.board import replay
    from othello_core.rules.games import random_games
    line = tuple(int(s) for s in random_games(1, seed=3).squares[0, :10])
    alternatives = replay(line).board.legal_moves()[:2]
    assert len(alternatives) == 2
    service.analyze(line)
    fresh = ModelService(service.model, "fresh")
    before = service.extended
    for move in alternatives:
        got = service.analyze(line + (move,))
        fresh._prefixes.clear()
        want = fresh.analyze(line + (move,))
        np.testing.assert_allclose(got.move_probs, want.move_probs, atol=2e-5)
        np.testing.assert_allclose(got.resid, want.resid, atol=2e-4, rtol=1e-4)
    assert service.extended - before == 2


def test_the_whole_forward_with_keys_and_values_kept_is_the_plain_forward(service):
    """The analysis forward keeps keys and values (an attention mask of ones): the same logits as the plain
    forward that the reference-logits test pins."""
    from othello_core.rules.vocab import moves_to_tokens, token_probs_to_squares
    from othello_core.model.evaluate import move_log_probs
    moves = tuple(parse_moves("f5 d6 c3 d3 c4 f4"))
    service._prefixes.clear()
    analysis = service.analyze(moves)
    logits, _ = service.run(torch.tensor([moves_to_tokens(moves, len(moves))]))
    plain = token_probs_to_squares(move_log_probs(logits[0]).exp().numpy())
    np.testing.assert_allclose(analysis.move_probs, plain, atol=1e-6)


def test_the_last_positions_logits_from_any_block_equal_the_whole_forwards():
    """``run_from_to_last``: from every block (and past the last), over the whole line or its later positions with
    the earlier ones' keys and values given, even one position: the whole forward's logits at that position."""
    from othello_core.model.hooked_transformer import frozen_prefix
    from othello_core.rules.hooks import attn_k, attn_v, resid_post, resid_pre
    from othello_core.rules.vocab import moves_to_tokens
    service = ModelService(build_model(ModelShape(n_layers=3, d_model=32, n_heads=4, d_mlp=64), device="cpu", seed=2),
                           "tiny3")
    moves = parse_moves("f5 d6 c3 d3 c4 f4 c5 b3 c2 e3")
    layers = service.n_layers
    names = ([resid_pre(l) for l in range(layers)] + [resid_post(layers - 1)] + [attn_k(l) for l in range(layers)]
             + [attn_v(l) for l in range(layers)])
    logits, cache = service.run(torch.tensor([moves_to_tokens(moves, len(moves))]), names=names)
    for block in range(layers + 1):
        stream = cache[resid_pre(block) if block < layers else resid_post(layers - 1)]
        for start, end in ((0, 10), (4, 10), (9, 10), (3, 7), (0, 1)):
            prefix = frozen_prefix([cache[attn_k(l)][:, :start].expand(2, -1, -1, -1) for l in range(layers)],
                                   [cache[attn_v(l)][:, :start].expand(2, -1, -1, -1) for l in range(layers)])
            got = service.run_from_to_last(block, stream[:, start:end].repeat(2, 1, 1), prefix=prefix if start else None)
            assert got.shape == (2, logits.shape[-1])
            torch.testing.assert_close(got, logits[0, end - 1].expand(2, -1), atol=2e-5, rtol=0)


def test_a_visitors_model_call_is_counted_and_a_spare_core_is_asked_for_only_at_one_torch_thread(service):
    """What ``SpareCore`` watches: every model call a visitor makes moves the lock's count. With torch already on
    several threads an op, a heavy job gets no second thread (it would put two on each core)."""
    from othello_core.analysis.cores import SpareCore
    before = service.lock.uses
    service.analyze(tuple(parse_moves("f5 d6 c3")))
    service.run(torch.tensor([[20, 30]]))
    assert service.lock.uses >= before + 2
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert isinstance(service.spare_core(), SpareCore)
        torch.set_num_threads(2)
        assert service.spare_core() is None
    finally:
        torch.set_num_threads(threads)
