"""Legal-move metrics, checked with oracles built from the rules on real eOthello games."""
import numpy as np
import pytest
import torch

from othello_core.model.evaluate import evaluate, heldout_games, legal_tokens, real_games
from othello_core.reports.evaluation import error_rate_over_moves, error_rates_by_move, pass_errors
from othello_core.rules.games import mover_not_alternating

FAIL_FROM_MOVE = 41  # the late-failing oracle's first wrong prediction is the one after move 41


@pytest.fixture(scope="module")
def games():
    return real_games(60)


def oracle(batch, fail_from: int | None = None):
    """Logits that rank a legal move first; from move ``fail_from`` on, an illegal one."""
    legal = torch.as_tensor(legal_tokens(batch))
    logits = legal.float() * 10
    if fail_from is not None:
        logits[:, fail_from - 1:] = (~legal[:, fail_from - 1:]).float() * 10
    return lambda tokens: logits[: len(tokens)]


def test_a_legal_oracle_scores_perfectly(games):
    result = evaluate(oracle(games), games, batch_size=len(games), by_move=True)
    assert result["legal_top1"] == 1.0 and result["legal_set_f1"] == pytest.approx(1.0)
    assert sum(result["by_move"]["top1_errors"]) == 0
    assert sum(result["by_move"]["positions"]) == result["positions"]


def test_errors_are_counted_at_the_move_where_they_happen(games):
    result = evaluate(oracle(games, FAIL_FROM_MOVE), games, batch_size=len(games), by_move=True)
    positions = np.array(result["by_move"]["positions"])
    errors = np.array(result["by_move"]["top1_errors"])
    assert (errors[: FAIL_FROM_MOVE - 1] == 0).all()
    assert np.array_equal(errors[FAIL_FROM_MOVE - 1:], positions[FAIL_FROM_MOVE - 1:])
    assert errors.sum() / positions.sum() == pytest.approx(1 - result["legal_top1"])
    rates = error_rates_by_move(result["by_move"])
    assert rates[0] == 0.0 and rates[FAIL_FROM_MOVE - 1] == 1.0
    assert error_rate_over_moves(result["by_move"], 1, FAIL_FROM_MOVE - 1) == 0.0
    assert error_rate_over_moves(result["by_move"], FAIL_FROM_MOVE, 59) == 1.0
    # games that end early stop counting: fewer positions after the last move than after the first
    assert positions[-1] < len(games) and positions[0] == len(games)


def test_by_move_is_left_out_unless_asked(games):
    assert "by_move" not in evaluate(oracle(games), games, batch_size=len(games))


def test_errors_after_a_pass_are_counted_apart():
    """An oracle wrong exactly where a pass changed the next mover: every such error is a pass error."""
    games = heldout_games(300)
    passed = mover_not_alternating(games.labels["to_move"][:, :59], np.arange(59)) & legal_tokens(games).any(-1)
    assert 0 < passed.sum() < 0.1 * passed.size  # random games do pass, rarely
    legal = torch.as_tensor(legal_tokens(games))
    logits = torch.where(torch.as_tensor(passed)[..., None], ~legal, legal).float() * 10
    result = evaluate(lambda tokens: logits[: len(tokens)], games, batch_size=len(games), by_move=True)
    by_move = result["by_move"]
    assert by_move["pass_positions"] == by_move["pass_top1_errors"] == by_move["top1_errors"]
    assert by_move["pass_positions"] == passed.sum(0).tolist()
    split = pass_errors(by_move)
    assert split["share_of_errors"] == 1.0 and split["error_after_pass"] == 1.0 and split["error_otherwise"] == 0.0
    assert split["share_of_positions"] == pytest.approx(passed.sum() / result["positions"])
    assert pass_errors({"positions": [1], "top1_errors": [0]}) is None
