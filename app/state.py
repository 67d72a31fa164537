"""The game state every page shares: ``line`` (the whole move line) and ``cursor`` (how many
of its moves are played now). Undo, redo and the step slider only move the cursor; playing a
move that differs from the line's next move cuts the line there. Mirrored in the URL as
``?moves=f5d6c3&at=2&model=bundled&layer=5``.

The transition functions are pure (tuples in, tuples out) so they are unit-tested without
Streamlit; ``app/common.py`` binds them to ``st.session_state`` and ``st.query_params``.
"""

from __future__ import annotations

from dataclasses import dataclass

from othello_core.rules.board import Game, parse_game, replay
from othello_core.rules.notation import MoveError, format_moves
from othello_core.rules.hooks import layer_param, stream_of_param
from othello_core.rules.user_input import InputError, parse_int

EMPTY = "empty"  # MoveError.reason of an empty paste


def play_move(line: tuple[int, ...], cursor: int, square: int) -> tuple[tuple[int, ...], int]:
    """Play ``square`` after ``cursor`` moves; raises MoveError (nothing changes)."""
    replay(line[:cursor] + (square,))
    if cursor < len(line) and line[cursor] == square:
        return line, cursor + 1
    return line[:cursor] + (square,), cursor + 1


def opening_cursor(line: tuple[int, ...]) -> int:
    """Where a loaded whole game opens: the position before its last move, where the model predicts that
    move (at the end of a game there is nothing left to predict).

    >>> opening_cursor(tuple(range(60))), opening_cursor((37,)), opening_cursor(())
    (59, 0, 0)
    """
    return max(len(line) - 1, 0)


def step(line: tuple[int, ...], cursor: int, delta: int) -> int:
    return max(0, min(len(line), cursor + delta))


@dataclass
class Loaded:
    line: tuple[int, ...]
    cursor: int
    error: MoveError | None = None
    layer: int | None = None
    notes: tuple[str, ...] = ()  # what in the link was refused or clamped, for the page to say


def from_text(text: str, integers: str | None = None) -> Game:
    """Parse a pasted sequence; raises MoveError for the page to show (an empty paste too)."""
    if not text.strip():
        raise MoveError(0, "", EMPTY, "the paste box is empty: type or paste moves, e.g. 'f5 d6 c3'")
    return parse_game(text, integers=integers)


def from_query(params: dict, n_layers: int = 8) -> Loaded:
    """The position a shared URL names. Bad moves yield the empty game and the error; a bad ``at``
    or ``layer`` is dropped (or clamped) with a note. Never raises."""
    notes: list[str] = []
    text = str(params.get("moves", "") or "")
    try:
        game = parse_game(text)
    except MoveError as err:
        return Loaded((), 0, err)
    cursor = len(game)
    if params.get("at") is not None:
        try:
            cursor = parse_int(params["at"], "the link's position (at)", 0, 10 ** 6)
        except InputError as err:
            notes.append(f"{err}; showing the end of the game")
        if cursor > len(game):
            notes.append(f"the link's position {cursor} is past the game's {len(game)} moves; showing the end")
            cursor = len(game)
    layer = None  # a stream index (0 embed, s = after L{s-1}); the link spells it embed / L0 .. L7
    if params.get("layer") is not None:
        try:
            layer = stream_of_param(str(params["layer"])[:20])
            if not 0 <= layer <= n_layers:
                raise ValueError(f"the link's layer {params['layer']!r} is not one of embed, L0 .. L{n_layers - 1}")
        except ValueError as err:
            layer = None
            notes.append(f"{err}; the layer is left unset")
    return Loaded(game.moves, cursor, None, layer, tuple(notes))


def to_query(line: tuple[int, ...], cursor: int, model: str, layer: int | None) -> dict[str, str]:
    out = {"moves": format_moves(line), "model": model}
    if cursor != len(line):
        out["at"] = str(cursor)
    if layer is not None:
        out["layer"] = layer_param(layer)
    return out
