import numpy as np
import pytest

from othello_core.rules.board import BLACK, WHITE, parse_game, replay
from othello_core.rules.games import (
    final_counts, load_eothello, mover_not_alternating, random_games, replay_batch, tokens_to_squares, unpack,
)
from othello_core.rules.notation import MoveError, TOKEN_TO_SQUARE, parse_moves

from .test_board import SHORTEST, WITH_PASS


def scalar_labels(squares):
    """Labels for one game from the scalar rules, written independently of games.py."""
    game = replay(squares)
    rows = []
    for p in range(len(squares)):
        board = game.boards[p + 1]
        colour = np.array([{BLACK: 1, WHITE: 2, 0: 0}[board.cell(s)] for s in range(64)])
        perspective = board.to_move if board.to_move is not None else -game.boards[p].to_move
        relative = np.array([0 if c == 0 else 1 if board.cell(s) == perspective else 2
                             for s, c in enumerate(colour)])
        legal = np.array([bool(board.legal_mask() >> s & 1) for s in range(64)])
        flipped = np.array([bool(game.flipped[p] >> s & 1) for s in range(64)])
        rows.append((colour, relative, legal, flipped, board.to_move or 0))
    return rows


def test_generator_agrees_with_scalar_rules_move_for_move():
    batch = random_games(2000, seed=123, labels=True)
    lab = batch.labels
    for g in range(len(batch)):
        squares = batch.squares[g, :batch.lengths[g]].tolist()
        game = replay(squares)  # raises if any generated move is illegal
        assert game.board.is_game_over(), "generated games run to the end"
        assert (batch.squares[g, batch.lengths[g]:] == -1).all()
        if g < 150:  # full label comparison on a subset keeps the test quick
            for p, (colour, relative, legal, flipped, to_move) in enumerate(scalar_labels(squares)):
                assert (lab["board"][g, p] == colour).all()
                assert (lab["relative"][g, p] == relative).all()
                assert (lab["legal"][g, p] == legal).all()
                assert (lab["flipped"][g, p] == flipped).all()
                assert lab["to_move"][g, p] == to_move


def test_generator_is_seeded_and_uniform():
    a, b = random_games(500, seed=7), random_games(500, seed=7)
    assert (a.squares == b.squares).all()
    assert not (random_games(500, seed=8).squares == a.squares).all()
    first = random_games(8000, seed=9).squares[:, 0]
    counts = np.bincount(first, minlength=64)[parse_moves("d3 c4 f5 e6")]
    assert counts.min() > 1800  # four opening moves, each ~2000 of 8000


def test_tokens_pad_with_zero_and_invert():
    batch = random_games(50, seed=1)
    tokens = batch.tokens
    assert ((tokens == 0) == (batch.squares < 0)).all()
    assert (tokens_to_squares(tokens) == batch.squares).all()
    assert tokens.max() <= 60 and tokens[:, 0].min() >= 1


def test_relative_labels_follow_the_player_to_move_through_a_pass():
    squares = parse_game(WITH_PASS).moves
    lab = replay_batch(np.array([squares]), labels=True).labels
    last = len(squares) - 1
    # c1 is white's move, black must pass, so white is to move again: white discs are "mine"
    assert lab["mover"][0, last] == WHITE and lab["to_move"][0, last] == WHITE
    white = lab["board"][0, last] == 2
    assert (lab["relative"][0, last][white] == 1).all()
    # one move earlier (no pass) the mover's discs are "theirs"
    assert lab["mover"][0, last - 1] == BLACK and lab["to_move"][0, last - 1] == WHITE
    black = lab["board"][0, last - 1] == 1
    assert (lab["relative"][0, last - 1][black] == 2).all()


def test_mover_not_alternating_marks_the_positions_after_a_pass_and_not_the_end():
    squares = parse_game(WITH_PASS).moves
    lab = replay_batch(np.array([squares]), labels=True).labels
    marked = mover_not_alternating(lab["to_move"][0], np.arange(60))
    assert list(np.nonzero(marked)[0]) == [len(squares) - 1]  # after c1 white moves again
    end = parse_game(SHORTEST).moves
    over = replay_batch(np.array([end]), labels=True).labels
    assert not mover_not_alternating(over["to_move"][0], np.arange(60)).any()


def test_labels_after_the_game_ends():
    squares = parse_game(SHORTEST).moves
    lab = replay_batch(np.array([squares]), labels=True).labels
    end = len(squares) - 1
    assert lab["to_move"][0, end] == 0 and not lab["legal"][0, end].any()
    # game over: "mine" falls back to the player who did not move last (white, no discs left)
    assert (lab["relative"][0, end][lab["board"][0, end] == 1] == 2).all()
    assert (lab["board"][0, end + 1:] == 0).all() and (lab["mover"][0, end + 1:] == 0).all()


def test_replay_batch_names_the_bad_move():
    good = parse_moves("f5 d6 c3")
    bad = parse_moves("f5 d6 a1")
    with pytest.raises(MoveError) as err:
        replay_batch(np.array([good, bad]))
    assert (err.value.index, err.value.move, err.value.reason) == (2, "a1", "flips_nothing")
    assert "game 1" in err.value.detail


def test_unpack_bit_order():
    bits = unpack(np.array([1 | (1 << 63)], dtype=np.uint64))
    assert bits.shape == (1, 64) and bits[0, 0] and bits[0, 63] and bits[0].sum() == 2


def test_every_eothello_game_replays_legally():
    games = load_eothello()
    assert len(games.ids) == 25657
    batch = replay_batch(games.squares, labels=True)  # raises on any illegal move
    assert (batch.lengths == 60).sum() == 24036
    black, white = final_counts(batch)
    by_discs = np.sign(black - white)
    # the winner column agrees with the final disc count in all but one game
    disagree = np.flatnonzero(by_discs != games.winners)
    assert len(disagree) == 1
    assert games.ids[disagree[0]] == 596120 and batch.lengths[disagree[0]] == 28
    ended = batch.labels["to_move"][np.arange(len(batch)), batch.lengths - 1] == 0
    assert (~ended).sum() == 2  # two games stop before the game is over (resigned or timed out)


def test_eothello_lookup_by_id():
    games = load_eothello()
    row = games.find(1056798)
    assert TOKEN_TO_SQUARE.index(int(games.squares[row, 0])) == 34  # f5 is token 34
    with pytest.raises(KeyError):
        games.find(-5)


def test_single_game_labels_equal_the_batched_ones():
    from othello_core.rules.games import game_labels
    batch = random_games(30, seed=4, labels=True)
    for g in range(len(batch)):
        single = game_labels(batch.squares[g, :batch.lengths[g]])
        for key, value in single.items():
            assert (value == batch.labels[key][g]).all(), key
    with pytest.raises(MoveError):
        game_labels(parse_moves("f5 f5"))
