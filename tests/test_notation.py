import pytest
from hypothesis import given, strategies as st

from othello_core.rules.notation import (
    CENTRE_SQUARES, TOKEN_TO_SQUARE, VOCAB_SIZE, MoveError, format_moves, label_to_square,
    name_to_square, parse_moves, square_to_label, square_to_name, square_to_token, split_moves,
    token_to_square,
)


def test_square_numbering_matches_the_paper_layout():
    assert name_to_square("a1") == 0
    assert name_to_square("h1") == 7
    assert name_to_square("a8") == 56
    assert name_to_square("F5") == 4 * 8 + 5
    assert [square_to_name(s) for s in CENTRE_SQUARES] == ["d4", "e4", "d5", "e5"]


def test_vocabulary_is_the_transformerlens_one():
    assert VOCAB_SIZE == 61
    assert len(TOKEN_TO_SQUARE) == 61 and TOKEN_TO_SQUARE[0] == -1
    moves = TOKEN_TO_SQUARE[1:]
    assert list(moves) == sorted(moves) and len(set(moves)) == 60
    assert not set(moves) & set(CENTRE_SQUARES)
    assert square_to_token(0) == 1 and square_to_token(63) == 60
    assert square_to_token(29) == 28  # the first square after d4, e4 is token 28
    assert token_to_square(27) == 26 and token_to_square(28) == 29
    with pytest.raises(ValueError):
        square_to_token(27)
    with pytest.raises(ValueError):
        token_to_square(0)


def test_arena_labels_are_row_letter_then_column_digit():
    assert square_to_label(0) == "A0"
    assert square_to_label(name_to_square("c4")) == "D2"
    assert square_to_label(63) == "H7"
    assert label_to_square("C3") == 2 * 8 + 3


@given(st.integers(0, 63))
def test_every_spelling_round_trips(square):
    assert name_to_square(square_to_name(square)) == square
    assert label_to_square(square_to_label(square)) == square
    if square not in CENTRE_SQUARES:
        assert token_to_square(square_to_token(square)) == square


@given(st.lists(st.integers(0, 63), max_size=60),
       st.sampled_from(["", " ", ",", ";", "\n", ", "]), st.booleans())
def test_parse_of_format_is_identity(squares, sep, upper):
    text = format_moves(squares, sep=sep)
    assert parse_moves(text.upper() if upper else text) == squares


def test_parse_accepts_every_pasted_form():
    expected = [37, 43, 18]
    for text in ["f5 d6 c3", "F5D6C3", "f5,d6;c3", "f5\nd6\nc3\n", "  f5d6 , c3 "]:
        assert parse_moves(text) == expected
    assert parse_moves("34 40 19", integers="tokens") == expected
    assert parse_moves("37 43 18", integers="squares") == expected


def test_integers_need_an_explicit_mode():
    with pytest.raises(MoveError) as err:
        parse_moves("37 43")
    assert err.value.reason == "ambiguous_integers" and err.value.index == 0


@pytest.mark.parametrize("text, integers, index, move", [
    ("f5 z9 c3", None, 1, "z9"),
    ("f5 d6 c", None, 2, "c"),
    ("f5 d6 i1", None, 2, "i1"),
    ("1 61", "tokens", 1, "61"),
    ("0", "tokens", 0, "0"),
    ("37 64", "squares", 1, "64"),
])
def test_not_a_square_names_the_move(text, integers, index, move):
    with pytest.raises(MoveError) as err:
        parse_moves(text, integers=integers)
    assert (err.value.reason, err.value.index, err.value.move) == ("not_a_square", index, move)


def test_split_keeps_unreadable_pieces_whole():
    assert split_moves("f5xyzd6") == ["f5", "xyz", "d6"]


def test_numbered_transcripts_and_python_lists_read_as_the_plain_moves():
    plain = parse_moves("f5 d6 c3 d3")
    assert parse_moves("1. f5 d6 2. c3 d3") == parse_moves("1.f5 d6 2.c3 d3") == plain
    assert parse_moves("1. f5 2... d6 3. c3 4... d3") == plain
    assert parse_moves("['f5', 'd6', 'c3', 'd3']") == parse_moves('("f5","d6","c3","d3")') == plain
    assert parse_moves("[37, 43, 18]", integers="squares") == [37, 43, 18]
    assert parse_moves("[34, 40]", integers="tokens") == parse_moves("f5 d6")
    with pytest.raises(MoveError) as err:
        parse_moves("1. f5 2. zz")
    assert err.value.index == 1 and err.value.move == "zz"  # move numbers are not moves: the index counts moves
