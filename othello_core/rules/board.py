"""Exact scalar Othello rules on 64-bit bitboards.

Bit ``i`` of a bitboard is square ``i`` (``index = (rank-1)*8 + file``, see ``notation``).
The start position has white on d4 and e5, black on e4 and d5; black moves first.

A player with no legal move passes: the sequence simply continues with the other player's
move (there is no pass token). The game ends when neither player can move.

``Board`` is one mutable position; ``Game`` is an immutable, fully validated move sequence
with every intermediate position, built by ``replay`` (which never half-applies a bad
sequence: it raises ``MoveError`` and the caller keeps its previous Game).

>>> from othello_core.rules.notation import format_moves
>>> board = Board()
>>> format_moves(board.legal_moves(), sep=" ")
'd3 c4 f5 e6'
>>> game = parse_game("f5 d6 c3")
>>> len(game), game.board.counts(), game.board.to_move == WHITE
(3, (5, 2), True)
>>> game.board.why_illegal(0)[0]
'flips_nothing'
>>> parse_game("f5 f5")
Traceback (most recent call last):
...
othello_core.rules.notation.MoveError: move 2 ('f5'): f5 is already occupied
>>> [format_moves(bits(flips)) for flips in game.flipped]
['e5', 'd5', 'd4']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator, Sequence

from othello_core.rules.notation import (
    GAME_OVER, MAX_GAME_MOVES, NO_FLIPS, OCCUPIED, TOO_LONG, MoveError, format_moves, piece_to_square, split_moves,
    square_to_name,
)
from othello_core.rules.user_input import MAX_MOVES_TEXT, excerpt

BLACK, WHITE = 1, -1  # players; the opponent of p is -p

FULL = (1 << 64) - 1
NOT_A_FILE = 0xFEFEFEFEFEFEFEFE  # clears file a after a shift towards higher files
NOT_H_FILE = 0x7F7F7F7F7F7F7F7F  # clears file h after a shift towards lower files

# (shift, mask): positive shifts move towards higher indices. +1 = next file, +8 = next rank.
DIRECTIONS: tuple[tuple[int, int], ...] = (
    (1, NOT_A_FILE), (-1, NOT_H_FILE), (8, FULL), (-8, FULL),
    (9, NOT_A_FILE), (7, NOT_H_FILE), (-7, NOT_A_FILE), (-9, NOT_H_FILE),
)

START_BLACK = (1 << 28) | (1 << 35)  # e4, d5
START_WHITE = (1 << 27) | (1 << 36)  # d4, e5


def shift(bits: int, amount: int, mask: int) -> int:
    moved = bits << amount if amount > 0 else bits >> -amount
    return moved & mask & FULL


def legal_moves_mask(own: int, opp: int) -> int:
    """Bitboard of squares where the player owning ``own`` may move."""
    empty = ~(own | opp) & FULL
    moves = 0
    for amount, mask in DIRECTIONS:
        run = shift(own, amount, mask) & opp
        for _ in range(5):
            run |= shift(run, amount, mask) & opp
        moves |= shift(run, amount, mask) & empty
    return moves


def flips_mask(own: int, opp: int, square: int) -> int:
    """Discs of ``opp`` flipped when ``own`` plays ``square`` (0 if none or occupied)."""
    move = 1 << square
    if (own | opp) & move:
        return 0
    flipped = 0
    for amount, mask in DIRECTIONS:
        run = 0
        x = shift(move, amount, mask)
        while x & opp:
            run |= x
            x = shift(x, amount, mask)
        if x & own:
            flipped |= run
    return flipped


def bits(mask: int) -> list[int]:
    """Set bit indices in ascending order.

    >>> bits(0b1011), bits(START_BLACK)
    ([0, 1, 3], [28, 35])
    """
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


@dataclass
class Board:
    """One position: the discs and whose turn it is (None once the game is over)."""

    black: int = START_BLACK
    white: int = START_WHITE
    to_move: int | None = BLACK

    def copy(self) -> "Board":
        return Board(self.black, self.white, self.to_move)

    def discs(self, player: int) -> int:
        return self.black if player == BLACK else self.white

    def legal_moves(self) -> list[int]:
        if self.to_move is None:
            return []
        return bits(self.legal_mask())

    def legal_mask(self) -> int:
        if self.to_move is None:
            return 0
        return legal_moves_mask(self.discs(self.to_move), self.discs(-self.to_move))

    def is_game_over(self) -> bool:
        return self.to_move is None

    def cell(self, square: int) -> int:
        """BLACK, WHITE or 0 (empty)."""
        if self.black >> square & 1:
            return BLACK
        if self.white >> square & 1:
            return WHITE
        return 0

    def counts(self) -> tuple[int, int]:
        return self.black.bit_count(), self.white.bit_count()

    def winner(self) -> int | None:
        """BLACK, WHITE, 0 for a draw, None while the game goes on."""
        if self.to_move is not None:
            return None
        b, w = self.counts()
        return BLACK if b > w else WHITE if w > b else 0

    def why_illegal(self, square: int) -> tuple[str, str] | None:
        """(reason, sentence) if ``square`` cannot be played now, else None."""
        name = square_to_name(square)
        if self.to_move is None:
            return GAME_OVER, f"the game is already over: no move can follow, {name} included"
        if (self.black | self.white) >> square & 1:
            return OCCUPIED, f"{name} is already occupied"
        if not flips_mask(self.discs(self.to_move), self.discs(-self.to_move), square):
            legal = ", ".join(square_to_name(s) for s in self.legal_moves())
            colour = "black" if self.to_move == BLACK else "white"
            return NO_FLIPS, f"{name} flips nothing for {colour}; legal moves: {legal}"
        return None

    def play(self, square: int) -> int:
        """Play ``square`` for the player to move and return the flipped bitboard.

        Then hands the turn over, applying a pass when the opponent has no move and ending
        the game when neither side has one. Raises ValueError if the move is illegal.
        """
        problem = self.why_illegal(square)
        if problem:
            raise ValueError(problem[1])
        player = self.to_move
        own, opp = self.discs(player), self.discs(-player)
        flipped = flips_mask(own, opp, square)
        own |= flipped | (1 << square)
        opp &= ~flipped
        if player == BLACK:
            self.black, self.white = own, opp
        else:
            self.white, self.black = own, opp
        if legal_moves_mask(opp, own):
            self.to_move = -player
        elif legal_moves_mask(own, opp):
            self.to_move = player  # the opponent passes
        else:
            self.to_move = None
        return flipped

    def __str__(self) -> str:
        legal = self.legal_mask()
        lines = ["  a b c d e f g h"]
        for r in range(8):
            row = []
            for c in range(8):
                sq = r * 8 + c
                cell = self.cell(sq)
                row.append("B" if cell == BLACK else "W" if cell == WHITE
                           else "*" if legal >> sq & 1 else ".")
            lines.append(f"{r + 1} " + " ".join(row))
        return "\n".join(lines)


@dataclass(frozen=True)
class Game:
    """A validated move sequence and every position along it.

    ``boards[i]`` is the position after ``i`` moves (``boards[0]`` is the start);
    ``flipped[i]`` is the bitboard flipped by move ``i``.
    """

    moves: tuple[int, ...] = ()
    boards: tuple[Board, ...] = field(default_factory=lambda: (Board(),))
    flipped: tuple[int, ...] = ()

    @property
    def board(self) -> Board:
        return self.boards[-1]

    def __len__(self) -> int:
        return len(self.moves)

    def __iter__(self) -> Iterator[int]:
        return iter(self.moves)

    def play(self, square: int) -> "Game":
        """A new Game one move longer; raises MoveError (this Game is unchanged)."""
        return replay(self.moves + (square,))

    def undo(self, n: int = 1) -> "Game":
        keep = max(0, len(self.moves) - n)
        return Game(self.moves[:keep], self.boards[: keep + 1], self.flipped[:keep])

    @cached_property
    def notation(self) -> str:
        return format_moves(self.moves)


def replay(squares: Sequence[int], typed: Sequence[str] | None = None,
           max_moves: int = MAX_GAME_MOVES) -> Game:
    """Replay a move sequence from the start, checking every move.

    Raises MoveError at the first bad move (its 0-based index, the move as typed, the
    reason); nothing is half-applied.
    """
    board = Board()
    boards = [board.copy()]
    flipped = []
    for index, square in enumerate(squares):
        shown = typed[index] if typed is not None else square_to_name(square)
        if index >= max_moves:
            raise MoveError(index, shown, TOO_LONG,
                            f"the sequence is too long: at most {max_moves} moves fit "
                            f"({'the model reads 59' if max_moves < MAX_GAME_MOVES else 'a game has 60'})")
        problem = board.why_illegal(square)
        if problem:
            raise MoveError(index, shown, problem[0], problem[1])
        flipped.append(board.play(square))
        boards.append(board.copy())
    return Game(tuple(int(s) for s in squares), tuple(boards), tuple(flipped))


def parse_game(text: str, integers: str | None = None,
               max_moves: int = MAX_GAME_MOVES) -> Game:
    """Parse pasted text and replay it: the one call the CLI and the app use."""
    if len(text) > MAX_MOVES_TEXT:
        raise MoveError(0, excerpt(text), TOO_LONG,
                        f"the text is {len(text):,} characters long; at most {MAX_MOVES_TEXT:,} are read "
                        "(a whole game is about 180): paste one game")
    typed = split_moves(text)
    squares = [piece_to_square(i, piece, integers) for i, piece in enumerate(typed)]
    return replay(squares, typed=typed, max_moves=max_moves)
