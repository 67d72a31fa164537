"""Squares, move notation and the Othello-GPT token vocabulary.

Square numbering (the paper's board arrays, row-major)::

    index = (rank - 1) * 8 + file        file a=0 .. h=7, rank 1..8

so ``a1`` is 0, ``h1`` is 7, ``a8`` is 56 and ``h8`` is 63. Othello diagrams put rank 1 at the
top, which is also row 0 of the paper's ``8x8`` arrays.

Three spellings of a square are supported:

* standard notation, ``"f5"`` (file letter + rank digit, case-insensitive);
* the TransformerLens demo / ARENA label, ``"E5"`` for f5: the *row* letter (A = rank 1)
  followed by the *column* digit 0..7 (so ``label = "ABCDEFGH"[index // 8] + str(index % 8)``);
* the model token: 61 tokens, token 0 is padding and never a move, tokens 1..60 are the 60
  non-centre squares in ascending index order (centre squares d4 e4 d5 e5 = 27 28 35 36 have
  no token).

Parsing a pasted sequence (``parse_moves``) accepts ``"f5 d6 c3"``, ``"F5D6C3"``,
``"f5,d6;c3"``, one move per line, or integers. Integers are ambiguous (token ids 1..60 vs
square indices 0..63), so integer input needs an explicit ``integers="tokens"`` or
``integers="squares"``.

>>> name_to_square("f5"), square_to_name(37), square_to_label(37)
(37, 'f5', 'E5')
>>> square_to_token(0), square_to_token(63), token_to_square(60)
(1, 60, 63)
>>> square_to_token(27)
Traceback (most recent call last):
...
ValueError: d4 is a centre square: it has no token
>>> parse_moves("F5d6,c3"), parse_moves("37 43", integers="squares"), parse_moves("34 40", integers="tokens")
([37, 43, 18], [37, 43], [37, 43])
>>> format_moves([37, 43, 18]), format_moves([37, 43], sep=" ")
('f5d6c3', 'f5 d6')
>>> split_moves("f5d6 zz;c3")
['f5', 'd6', 'zz', 'c3']
>>> parse_moves("12")
Traceback (most recent call last):
...
othello_core.rules.notation.MoveError: move 1 ('12'): '12' is a number: say whether numbers are token ids (1..60) or square indices (0..63)
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from othello_core.rules.user_input import excerpt

Square = int  # 0..63, index = (rank - 1) * 8 + file
Token = int  # 0..60: 0 is padding, 1..60 the non-centre squares in ascending order
Player = int  # BLACK = 1, WHITE = -1 (othello_core.rules.board)

FILES = "abcdefgh"
ROW_LETTERS = "ABCDEFGH"  # ARENA / TransformerLens demo labels: row letter, then column digit

CENTRE_SQUARES = (27, 28, 35, 36)
N_SQUARES = 64
VOCAB_SIZE = 61  # token 0 = padding, 1..60 = moves
PAD_TOKEN = 0
MODEL_CONTEXT = 59  # the model reads at most 59 moves and predicts the 60th
MAX_GAME_MOVES = 60

TOKEN_TO_SQUARE: tuple[int, ...] = (-1,) + tuple(
    sq for sq in range(N_SQUARES) if sq not in CENTRE_SQUARES
)
SQUARE_TO_TOKEN: tuple[int, ...] = tuple(
    TOKEN_TO_SQUARE.index(sq) if sq not in CENTRE_SQUARES else -1 for sq in range(N_SQUARES)
)

# Reasons carried by MoveError.reason (stable strings: the app and the CLI print them).
NOT_A_SQUARE = "not_a_square"
OCCUPIED = "occupied"
NO_FLIPS = "flips_nothing"
GAME_OVER = "game_over"
TOO_LONG = "too_long"
AMBIGUOUS_INTEGERS = "ambiguous_integers"


class MoveError(ValueError):
    """A move sequence that cannot be played.

    Attributes:
        index: 0-based position of the first bad move in the sequence.
        move: the move as the user typed it.
        reason: one of the reason constants of this module (``"occupied"``, ...).
        detail: a sentence for humans saying what went wrong and what to do.
    """

    def __init__(self, index: int, move: str, reason: str, detail: str):
        self.index = index
        self.move = excerpt(move)  # never the whole of a huge paste
        self.reason = reason
        self.detail = detail
        super().__init__(f"move {index + 1} ({self.move!r}): {detail}")

    def to_dict(self) -> dict:
        return {"error": self.detail, "reason": self.reason, "index": self.index, "move": self.move}


def square_to_name(square: int) -> str:
    """0..63 -> standard notation, e.g. 37 -> "f5"."""
    _check_square(square)
    return f"{FILES[square % 8]}{square // 8 + 1}"


def name_to_square(name: str) -> int:
    """Standard notation (case-insensitive) -> 0..63. Raises ValueError if not a square."""
    text = name.strip().lower()
    if len(text) != 2 or text[0] not in FILES or text[1] not in "12345678":
        raise ValueError(f"{name!r} is not a square: use a file a-h and a rank 1-8, e.g. 'f5'")
    return (int(text[1]) - 1) * 8 + FILES.index(text[0])


def square_to_label(square: int) -> str:
    """0..63 -> the TransformerLens-demo / ARENA label (row letter, column digit): 37 -> "E5"."""
    _check_square(square)
    return f"{ROW_LETTERS[square // 8]}{square % 8}"


def label_to_square(label: str) -> int:
    text = label.strip().upper()
    if len(text) != 2 or text[0] not in ROW_LETTERS or text[1] not in "01234567":
        raise ValueError(f"{label!r} is not an ARENA label: row letter A-H, column digit 0-7")
    return ROW_LETTERS.index(text[0]) * 8 + int(text[1])


def square_to_token(square: int) -> int:
    _check_square(square)
    token = SQUARE_TO_TOKEN[square]
    if token < 0:
        raise ValueError(f"{square_to_name(square)} is a centre square: it has no token")
    return token


def token_to_square(token: int) -> int:
    if not 1 <= token < VOCAB_SIZE:
        raise ValueError(f"token {token} is not a move: moves are tokens 1..60 (0 is padding)")
    return TOKEN_TO_SQUARE[token]


def format_moves(squares: Iterable[int], sep: str = "") -> str:
    """Squares -> lowercase standard notation, run together by default ("f5d6c3")."""
    return sep.join(square_to_name(sq) for sq in squares)


_SEPARATORS = re.compile(r"[\s,;\[\]()'\"]+")  # also the brackets and quotes of a pasted Python list
_MOVE_NUMBER = re.compile(r"(?<![\w.])[0-9]+\.+(?=\s|[a-zA-Z]|$)")  # "1." / "12..." of a numbered transcript
_NOTATION_TOKEN = re.compile(r"[a-zA-Z][0-9]")
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would read '٣' and fail on '²'
_MAX_INTEGER_DIGITS = 3


def split_moves(text: str) -> list[str]:
    """Split pasted text into the moves as typed, without judging them.

    Separators are whitespace, commas, semicolons, brackets and quotes (a pasted Python list); move
    numbers of a transcript ("1. f5 d6 2. c3") are dropped; letter+digit moves may also be run together
    ("f5d6c3"). Anything that is neither is returned as one piece so the error can name it.

    >>> split_moves("1. f5 d6 2. c3 3...d3"), split_moves("['f5', 'd6']"), split_moves("[37, 43]")
    (['f5', 'd6', 'c3', 'd3'], ['f5', 'd6'], ['37', '43'])
    """
    pieces: list[str] = []
    for chunk in _SEPARATORS.split(_MOVE_NUMBER.sub(" ", text).strip()):
        if not chunk:
            continue
        if _INTEGER.fullmatch(chunk):
            pieces.append(chunk)
            continue
        pos = 0
        while pos < len(chunk):
            match = _NOTATION_TOKEN.match(chunk, pos)
            if match:
                pieces.append(match.group())
                pos = match.end()
            else:  # keep the unreadable rest as one piece, up to the next letter+digit pair
                nxt = _NOTATION_TOKEN.search(chunk, pos + 1)
                end = nxt.start() if nxt else len(chunk)
                pieces.append(chunk[pos:end])
                pos = end
    return pieces


def parse_moves(text: str, integers: str | None = None) -> list[int]:
    """Parse pasted text into square indices, checking only that each piece names a square.

    Legality (occupied, flips nothing, game over, too long) is checked by
    ``othello_core.rules.board.replay``; ``othello_core.rules.board.parse_game`` does both.

    Args:
        text: the pasted moves.
        integers: how to read integer pieces: ``"tokens"`` (1..60) or ``"squares"`` (0..63).
            Left as None, integer input raises MoveError(reason="ambiguous_integers").
    """
    squares: list[int] = []
    for index, piece in enumerate(split_moves(text)):
        squares.append(piece_to_square(index, piece, integers))
    return squares


def piece_to_square(index: int, piece: str, integers: str | None) -> int:
    """One piece of ``split_moves`` as a square; ``index`` is its place, for the MoveError."""
    if integers not in (None, "tokens", "squares"):
        raise ValueError("integers must be None, 'tokens' or 'squares'")
    if _INTEGER.fullmatch(piece):
        shown = excerpt(piece)
        if integers is None:
            raise MoveError(
                index, piece, AMBIGUOUS_INTEGERS,
                f"{shown!r} is a number: say whether numbers are token ids (1..60) "
                "or square indices (0..63)",
            )
        value = int(piece) if len(piece.lstrip("-")) <= _MAX_INTEGER_DIGITS else None
        if integers == "tokens":
            if value is None or not 1 <= value < VOCAB_SIZE:
                raise MoveError(index, piece, NOT_A_SQUARE,
                                f"token {shown} is not a move: moves are tokens 1..60")
            return TOKEN_TO_SQUARE[value]
        if value is None or not 0 <= value < N_SQUARES:
            raise MoveError(index, piece, NOT_A_SQUARE,
                            f"square index {shown} is off the board: use 0..63")
        return value
    try:
        square = name_to_square(piece)
    except ValueError:
        raise MoveError(index, piece, NOT_A_SQUARE,
                        f"{excerpt(piece)!r} is not a square: use a file a-h and a rank 1-8, e.g. 'f5'")
    return square


def squares_to_tokens(squares: Sequence[int]) -> list[int]:
    return [square_to_token(sq) for sq in squares]


def _check_square(square: int) -> None:
    if not 0 <= int(square) < N_SQUARES:
        raise ValueError(f"square {square} is off the board: squares are 0..63")
