"""The game state every page shares: ``line`` (the whole move line) and ``cursor`` (how many
of its moves are played now). Undo, redo and the step slider only move the cursor; playing a
move that differs from the line's next move cuts the line there. Mirrored in the URL as
``?moves=f5d6c3&at=2&model=bundled&layer=5``.

The transition functions are pure (tuples in, tuples out) so they are unit-tested without
Streamlit; ``GameState`` binds them to ``st.session_state`` and ``st.query_params``.
"""

from __future__ import annotations

from dataclasses import dataclass

from othello_core.board import Game, parse_game, replay
from othello_core.notation import MoveError, format_moves


def play_move(line: tuple[int, ...], cursor: int, square: int) -> tuple[tuple[int, ...], int]:
    """Play ``square`` after ``cursor`` moves; raises MoveError (nothing changes)."""
    replay(line[:cursor] + (square,))
    if cursor < len(line) and line[cursor] == square:
        return line, cursor + 1
    return line[:cursor] + (square,), cursor + 1


def step(line: tuple[int, ...], cursor: int, delta: int) -> int:
    return max(0, min(len(line), cursor + delta))


@dataclass
class Loaded:
    line: tuple[int, ...]
    cursor: int
    error: MoveError | None = None


def from_text(text: str, integers: str | None = None) -> Game:
    """Parse a pasted sequence; raises MoveError for the page to show."""
    return parse_game(text, integers=integers)


def from_query(params: dict) -> Loaded:
    """The position a shared URL names (an invalid one yields the empty game + the error)."""
    text = params.get("moves", "") or ""
    try:
        game = parse_game(text)
    except MoveError as err:
        return Loaded((), 0, err)
    at = params.get("at")
    cursor = len(game) if at is None or not str(at).isdigit() else min(int(at), len(game))
    return Loaded(game.moves, cursor)


def to_query(line: tuple[int, ...], cursor: int, model: str, layer: int | None) -> dict[str, str]:
    out = {"moves": format_moves(line), "model": model}
    if cursor != len(line):
        out["at"] = str(cursor)
    if layer is not None:
        out["layer"] = str(layer)
    return out
