import pytest
from hypothesis import given, settings, strategies as st

from othello_core.rules.board import BLACK, WHITE, Board, bits, flips_mask, parse_game, replay
from othello_core.rules.notation import MoveError, name_to_square, parse_moves, square_to_name

SHORTEST = "e6f6c4c5c6d6g6e3e2"  # a 9-move game: black wipes white out
WITH_PASS = "d3c3f5d2d1e1b2c1"  # after white's c1, black has no move and passes
FIRST_EOTHELLO_GAME = ("f5d6c4d3e6f4e3f6c5b4e7f3c6d7b5a5c3b3g5h5g4h4e2g6b6d8c7c8a4a6a7f1a3c2d2b2"
                       "e1b7g3h3f2d1a1a2b1a8c1g1f7g8e8f8b8g7h8h7h6h2g2h1")


def names(squares):
    return sorted(square_to_name(s) for s in squares)


def test_start_position():
    board = Board()
    assert board.cell(name_to_square("d4")) == WHITE and board.cell(name_to_square("e5")) == WHITE
    assert board.cell(name_to_square("e4")) == BLACK and board.cell(name_to_square("d5")) == BLACK
    assert board.to_move == BLACK
    assert names(board.legal_moves()) == ["c4", "d3", "e6", "f5"]
    assert board.counts() == (2, 2)


def test_a_known_position():
    game = parse_game("f5 d6 c3")
    board = game.board
    expected_black = {"c3", "d4", "e4", "e5", "f5"}
    expected_white = {"d5", "d6"}
    assert {square_to_name(s) for s in range(64) if board.cell(s) == BLACK} == expected_black
    assert {square_to_name(s) for s in range(64) if board.cell(s) == WHITE} == expected_white
    assert board.to_move == WHITE
    assert names(bits(game.flipped[-1])) == ["d4"]


def test_game_end_and_winner():
    game = parse_game(SHORTEST)
    assert len(game) == 9 and game.board.is_game_over()
    assert game.board.counts() == (13, 0)
    assert game.board.winner() == BLACK
    assert not game.boards[5].is_game_over() and game.boards[5].winner() is None


def test_pass_hands_the_turn_back():
    game = parse_game(WITH_PASS)
    assert game.boards[-2].to_move == WHITE  # white plays c1 ...
    assert game.board.to_move == WHITE  # ... and moves again: black has no legal move
    assert not Board(game.board.black, game.board.white, BLACK).legal_moves()
    assert game.board.legal_moves()


@pytest.mark.parametrize("text, index, move, reason", [
    ("f5 d6 d6", 2, "d6", "occupied"),
    ("f5 d4", 1, "d4", "occupied"),
    ("f5 a1", 1, "a1", "flips_nothing"),
    ("f5 d6 c3 h8", 3, "h8", "flips_nothing"),
    (SHORTEST + "a1", 9, "a1", "game_over"),
    ("F5 D6 Z3", 2, "Z3", "not_a_square"),
])
def test_every_error_names_the_first_bad_move(text, index, move, reason):
    with pytest.raises(MoveError) as err:
        parse_game(text)
    assert (err.value.index, err.value.move, err.value.reason) == (index, move, reason)
    assert move.lower() in str(err.value).lower()


def test_too_long_for_the_model_context():
    full = FIRST_EOTHELLO_GAME  # eOthello game 1056798, 60 moves
    game = parse_game(full)
    assert len(game) == 60 and game.board.is_game_over()
    with pytest.raises(MoveError) as err:
        parse_game(full, max_moves=59)
    assert (err.value.index, err.value.reason) == (59, "too_long")


def test_nothing_is_half_applied():
    game = parse_game("f5 d6")
    with pytest.raises(MoveError):
        game.play(name_to_square("a1"))
    assert game.notation == "f5d6" and game.board.to_move == BLACK
    assert game.play(name_to_square("c3")).notation == "f5d6c3"
    assert game.undo().notation == "f5" and game.undo(5).notation == ""


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=60, max_size=60))
def test_rules_invariants_along_random_games(choices):
    board = Board()
    for choice in choices:
        if board.is_game_over():
            break
        legal = board.legal_moves()
        own, opp = board.discs(board.to_move), board.discs(-board.to_move)
        for sq in range(64):  # a move is legal exactly when it flips something
            empty = not (own | opp) >> sq & 1
            assert (sq in legal) == (empty and flips_mask(own, opp, sq) != 0)
        before = sum(board.counts())
        mover = board.to_move
        flipped = board.play(legal[choice % len(legal)])
        assert flipped and sum(board.counts()) == before + 1
        assert board.discs(mover).bit_count() == own.bit_count() + flipped.bit_count() + 1
        assert board.discs(-mover).bit_count() == opp.bit_count() - flipped.bit_count()
    if board.is_game_over():
        b, w = board.counts()
        assert board.winner() == (BLACK if b > w else WHITE if w > b else 0)


@given(st.lists(st.integers(0, 10**6), max_size=60))
def test_replay_agrees_with_incremental_play(choices):
    board, played = Board(), []
    for choice in choices:
        if board.is_game_over():
            break
        move = board.legal_moves()[choice % len(board.legal_moves())]
        board.play(move)
        played.append(move)
    game = replay(played)
    assert (game.board.black, game.board.white, game.board.to_move) == (board.black, board.white, board.to_move)
    assert parse_moves(game.notation) == played
