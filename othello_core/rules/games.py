"""Vectorized games: random legal games, batch replay, probe labels, and the eOthello set.

Everything here works on a batch of games at once with numpy ``uint64`` bitboards (the same
layout as ``board.py``): one move of thousands of games is a few dozen array operations.

Shapes. ``squares`` arrays are ``[games, 60]`` of square indices with ``-1`` after a game
ends; ``tokens`` arrays are ``[games, 60]`` of model tokens with ``0`` (padding) after the
end. Labels are ``[games, 60, 64]`` (position ``p`` = the board *after* move ``p``):

* ``board``: 0 empty, 1 black, 2 white (``COLOUR_CLASSES``);
* ``relative``: 0 empty, 1 mine, 2 theirs (``RELATIVE_CLASSES``). "Mine" is the player **to
  move next** after move ``p`` -- the player whose move the model is predicting at that
  position. Because of passes this is not parity: if the opponent must pass, the player who
  just moved moves again and the just-placed disc is "mine". Once the game is over there
  is no player to move and "mine" falls back to the player who did *not* make the last
  move (the alternation a model without a pass token would assume);
* ``flipped``: squares flipped by move ``p`` (bool);
* ``legal``: legal moves for the player to move after move ``p`` (bool);
* ``to_move`` ``[games, 60]``: 1 black, -1 white, 0 game over (and after the end);
* ``mover`` ``[games, 60]``: who made move ``p`` (1 black, -1 white, 0 padding).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from othello_core.rules.board import BLACK, START_BLACK, START_WHITE, replay
from othello_core.rules.notation import MAX_GAME_MOVES, MoveError, name_to_square
from othello_core.rules.vocab import (  # noqa: F401  (re-exported for callers of games)
    COLOUR_CLASSES, RELATIVE_CLASSES, squares_to_token_array, tokens_to_squares,
)

_U = np.uint64
_FULL = _U(0xFFFFFFFFFFFFFFFF)
_DIRECTIONS = (
    (1, _U(0xFEFEFEFEFEFEFEFE)), (-1, _U(0x7F7F7F7F7F7F7F7F)), (8, _FULL), (-8, _FULL),
    (9, _U(0xFEFEFEFEFEFEFEFE)), (7, _U(0x7F7F7F7F7F7F7F7F)),
    (-7, _U(0xFEFEFEFEFEFEFEFE)), (-9, _U(0x7F7F7F7F7F7F7F7F)),
)
_SHIFTS = {a: _U(abs(a)) for a, _ in _DIRECTIONS}
_ONE = _U(1)

from othello_core.paths import ASSETS  # noqa: E402

EOTHELLO_CSV = ASSETS / "data" / "eothello_games.csv.gz"


def _shift(b: np.ndarray, amount: int, mask: np.uint64) -> np.ndarray:
    if amount > 0:
        return np.left_shift(b, _SHIFTS[amount]) & mask
    return np.right_shift(b, _SHIFTS[amount]) & mask


def legal_masks(own: np.ndarray, opp: np.ndarray) -> np.ndarray:
    """Batched ``board.legal_moves_mask``: uint64 ``[n]`` -> uint64 ``[n]``."""
    empty = ~(own | opp)
    moves = np.zeros_like(own)
    for amount, mask in _DIRECTIONS:
        run = _shift(own, amount, mask) & opp
        for _ in range(5):
            run |= _shift(run, amount, mask) & opp
        moves |= _shift(run, amount, mask) & empty
    return moves


def flip_masks(own: np.ndarray, opp: np.ndarray, move: np.ndarray) -> np.ndarray:
    """Batched ``board.flips_mask`` for single-bit ``move`` bitboards (0 = no move)."""
    flipped = np.zeros_like(own)
    for amount, mask in _DIRECTIONS:
        run = _shift(move, amount, mask) & opp
        for _ in range(5):
            run |= _shift(run, amount, mask) & opp
        bracketed = (_shift(run, amount, mask) & own) != 0
        flipped |= np.where(bracketed, run, _U(0))
    return flipped


def unpack(bitboards: np.ndarray) -> np.ndarray:
    """uint64 ``[...]`` -> bool ``[..., 64]`` with element i = bit i."""
    flat = np.ascontiguousarray(bitboards, dtype=_U).reshape(-1)
    out = np.unpackbits(flat.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    return out.reshape(bitboards.shape + (64,)).astype(bool)


@dataclass
class GameBatch:
    """A batch of games: squares/tokens ``[games, 60]`` and, when asked for, labels."""

    squares: np.ndarray  # [games, 60] int64, -1 after the end
    lengths: np.ndarray  # [games] int64
    labels: dict[str, np.ndarray] | None = None

    @property
    def tokens(self) -> np.ndarray:
        """[games, 60] model tokens, 0 (padding) after the end."""
        return squares_to_token_array(self.squares)

    def __len__(self) -> int:
        return len(self.squares)


class _Engine:
    """Shared batched state machine: ``cur``/``oth`` are the discs of the player to move and
    of the other player, ``colour`` is the player to move (1/-1), ``done`` marks ended games."""

    def __init__(self, n: int, with_labels: bool, n_moves: int = MAX_GAME_MOVES):
        self.cur = np.full(n, _U(START_BLACK))
        self.oth = np.full(n, _U(START_WHITE))
        self.colour = np.ones(n, dtype=np.int8)
        self.done = np.zeros(n, dtype=bool)
        self.legal = legal_masks(self.cur, self.oth)
        self.with_labels = with_labels
        if with_labels:
            self.black_bits = np.zeros((n, n_moves), dtype=_U)
            self.white_bits = np.zeros((n, n_moves), dtype=_U)
            self.flipped_bits = np.zeros((n, n_moves), dtype=_U)
            self.legal_bits = np.zeros((n, n_moves), dtype=_U)
            self.to_move = np.zeros((n, n_moves), dtype=np.int8)
            self.mover = np.zeros((n, n_moves), dtype=np.int8)

    def step(self, t: int, move_sq: np.ndarray) -> None:
        """Play ``move_sq`` (square index per game, -1 for games already over)."""
        active = move_sq >= 0
        move = np.where(active, np.left_shift(_ONE, np.maximum(move_sq, 0).astype(_U)), _U(0))
        flipped = flip_masks(self.cur, self.oth, move)
        mover = self.colour.copy()
        own = self.cur | move | flipped
        opp = self.oth & ~flipped
        opp_legal = legal_masks(opp, own)
        own_legal = legal_masks(own, opp)
        swap = opp_legal != 0
        passes = ~swap & (own_legal != 0)
        ended = active & ~swap & ~passes
        # after this move: the player to move is the opponent unless they must pass
        self.cur = np.where(active, np.where(swap, opp, own), self.cur)
        self.oth = np.where(active, np.where(swap, own, opp), self.oth)
        self.colour = np.where(active & swap, -self.colour, self.colour).astype(np.int8)
        self.legal = np.where(active, np.where(swap, opp_legal, own_legal), self.legal)
        self.done |= ended
        if self.with_labels:
            black = np.where(self.colour == BLACK, self.cur, self.oth)
            white = np.where(self.colour == BLACK, self.oth, self.cur)
            self.black_bits[:, t] = np.where(active, black, 0)
            self.white_bits[:, t] = np.where(active, white, 0)
            self.flipped_bits[:, t] = flipped
            self.legal_bits[:, t] = np.where(active & ~self.done, self.legal, 0)
            self.to_move[:, t] = np.where(active & ~self.done, self.colour, 0)
            self.mover[:, t] = np.where(active, mover, 0)

    def labels(self) -> dict[str, np.ndarray]:
        return labels_from_bits(self.black_bits, self.white_bits, self.flipped_bits,
                                self.legal_bits, self.to_move, self.mover)


def labels_from_bits(black_bits, white_bits, flipped_bits, legal_bits, to_move, mover) -> dict:
    """Label arrays (see the module docstring) from per-position bitboards ``[..., positions]``."""
    black = unpack(black_bits)
    white = unpack(white_bits)
    board = np.zeros(black.shape, dtype=np.int8)
    board[black] = 1
    board[white] = 2
    # "mine" = player to move next; after the game ends, the player who did not move last
    perspective = np.where(to_move != 0, to_move, -mover)[..., None]
    mine = np.where(perspective == BLACK, black, white)
    theirs = np.where(perspective == BLACK, white, black)
    relative = np.zeros(black.shape, dtype=np.int8)
    relative[mine] = 1
    relative[theirs] = 2
    return {"board": board, "relative": relative, "flipped": unpack(flipped_bits),
            "legal": unpack(legal_bits), "to_move": np.array(to_move, dtype=np.int8),
            "mover": np.array(mover, dtype=np.int8)}


def mover_by_alternation(positions: np.ndarray) -> np.ndarray:
    """The next mover if nobody ever passed, at 0-based ``positions`` (after move ``p + 1``):
    black moves first, so black is next when ``p`` is odd."""
    return np.where(np.asarray(positions) % 2 == 1, BLACK, -BLACK)


def mover_not_alternating(to_move: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Where a pass has made the next mover differ from strict alternation: ``to_move`` labels at
    0-based ``positions``. False once the game is over."""
    return (to_move != 0) & (to_move != mover_by_alternation(positions))


def game_labels(moves) -> dict[str, np.ndarray]:
    """Labels ``[60, 64]`` of one game from the scalar rules (fast for a single game).

    Same arrays as ``replay_batch([moves]).labels`` without the batch axis; raises MoveError.
    """
    game = replay([int(m) for m in moves])
    n = MAX_GAME_MOVES
    bits_ = {k: np.zeros(n, dtype=_U) for k in ("black", "white", "flipped", "legal")}
    to_move, mover = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int8)
    for p in range(len(game)):
        before, after = game.boards[p], game.boards[p + 1]
        bits_["black"][p], bits_["white"][p] = after.black, after.white
        bits_["flipped"][p], bits_["legal"][p] = game.flipped[p], after.legal_mask()
        to_move[p], mover[p] = after.to_move or 0, before.to_move
    return labels_from_bits(bits_["black"], bits_["white"], bits_["flipped"], bits_["legal"],
                            to_move, mover)


def _pick_random_bit(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random set bit per mask (-1 where the mask is 0)."""
    bits_ = unpack(masks)  # [n, 64]
    counts = bits_.sum(axis=1)
    choice = np.floor(rng.random(len(masks)) * counts).astype(np.int64)
    ranks = np.cumsum(bits_, axis=1)
    picked = np.argmax(ranks > choice[:, None], axis=1)
    return np.where(counts > 0, picked, -1)


def random_games(n: int, seed: int | None = 0, labels: bool = False) -> GameBatch:
    """``n`` games whose every move is uniform over the legal moves (the paper's synthetic set)."""
    rng = np.random.default_rng(seed)
    engine = _Engine(n, labels)
    squares = np.full((n, MAX_GAME_MOVES), -1, dtype=np.int64)
    for t in range(MAX_GAME_MOVES):
        move = _pick_random_bit(np.where(engine.done, _U(0), engine.legal), rng)
        if (move < 0).all():
            break
        squares[:, t] = move
        engine.step(t, move)
    lengths = (squares >= 0).sum(axis=1)
    return GameBatch(squares, lengths, engine.labels() if labels else None)


def replay_batch(squares: np.ndarray, labels: bool = True) -> GameBatch:
    """Replay ``[games, <=60]`` square arrays (-1 padding), checking every move.

    Raises MoveError naming the first bad move of the first bad game (the message says
    which game).
    """
    squares = np.asarray(squares, dtype=np.int64)
    n, width = squares.shape
    padded = np.full((n, MAX_GAME_MOVES), -1, dtype=np.int64)
    padded[:, :width] = squares
    engine = _Engine(n, labels)
    for t in range(width):
        move = padded[:, t]
        active = move >= 0
        bit = np.where(active, np.left_shift(_ONE, np.maximum(move, 0).astype(_U)), _U(0))
        bad = active & (engine.done | ((engine.legal & bit) == 0))
        if bad.any():
            _raise_first(int(np.flatnonzero(bad)[0]), padded)
        engine.step(t, move)
    lengths = (padded >= 0).sum(axis=1)
    return GameBatch(padded, lengths, engine.labels() if labels else None)


def _raise_first(game: int, squares: np.ndarray) -> None:
    """Raise the scalar rules' MoveError for the first bad game, naming the game."""
    try:
        replay([int(s) for s in squares[game] if s >= 0])
    except MoveError as err:
        raise MoveError(err.index, err.move, err.reason, f"game {game}: {err.detail}") from None
    raise AssertionError("batched and scalar rules disagree")  # pragma: no cover


@dataclass
class RealGames:
    """The eOthello games: ids, winners as recorded (1 black, -1 white, 0 draw), squares."""

    ids: np.ndarray
    winners: np.ndarray
    squares: np.ndarray  # [games, 60], -1 after the end

    def find(self, game_id: int) -> int:
        hits = np.flatnonzero(self.ids == game_id)
        if not len(hits):
            raise KeyError(f"no eOthello game with id {game_id}")
        return int(hits[0])


def load_eothello(path: Path | str = EOTHELLO_CSV) -> RealGames:
    """Load the eOthello CSV, plain or gzipped (columns Othello_game_id, winner, game_moves
    run together)."""
    ids, winners, rows = [], [], []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            moves = row["game_moves"].strip()
            ids.append(int(row["Othello_game_id"]))
            winners.append(int(row["winner"]))
            sq = [name_to_square(moves[i:i + 2]) for i in range(0, len(moves), 2)]
            rows.append(sq + [-1] * (MAX_GAME_MOVES - len(sq)))
    return RealGames(np.array(ids), np.array(winners, dtype=np.int8),
                     np.array(rows, dtype=np.int64))


def final_counts(batch: GameBatch) -> tuple[np.ndarray, np.ndarray]:
    """Black and white disc counts at the end of each game (needs labels)."""
    assert batch.labels is not None, "replay with labels=True"
    last = batch.lengths - 1
    final = batch.labels["board"][np.arange(len(batch)), last]
    return (final == 1).sum(axis=1), (final == 2).sum(axis=1)

