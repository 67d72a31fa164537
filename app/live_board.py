"""The live board: the board a person clicks to play, drawn in the browser as SVG by a few lines of JavaScript
(Streamlit's components v2, code in ``app/static/live_board.js``, fetched once from the app's own server: no
build step).

A plotly board answers a click only after the server has run the page and sent the new figure back (measured:
2.3-4x a bare Streamlit board's round trip, bench/RESULTS.md). Here the browser applies the move itself, by the
game's rules (place the disc, flip the bracketed runs, ring the next player's legal moves, pass when they have
none), paints it in the same frame, then reports the square; the server's board replaces the painting when the
run for that click arrives (``clicks``: the number of the last click the server handled, so a board sent before
the click does not undo the painting). A click the server refuses is shown under the board and the server's board stays.

Markers keep the one meaning they have on every plotly board (``app.figures.MARKERS``: same symbol, colour and
size as a fraction of a square), and the legend lists the ones drawn. The ``data-…`` attributes on the SVG
(``position``: the server's name for its board, empty on a painting; ``shown``, ``cells``, ``legal``,
``edited``, ``source``, ``hover``) let tests and benches read what is drawn.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from othello_core.rules.board import BLACK
from app.figures import BOARD_GREEN, MARKERS, RINGED, colour_scale
from app.live_svg import tools_css
from app.static_component import static_component

ERRORS = "live_board_error"  # session key: (board key, position, message) of the last refused click
CLICKS = "live_board_clicks"  # session key: {board key: the browser's number of the last click handled}

_CSS = """
.live-board svg { display: block; user-select: none; -webkit-user-select: none; }
.live-board .sq { cursor: default; }
.live-board .sq.legal { cursor: pointer; }
.live-board .sq.legal:hover { stroke: #fff; stroke-width: 2; }
.live-board { position: relative; display: inline-block; }
""" + tools_css(".live-board")


_live_board = static_component("othello_live_board", "live_board.js", css=_CSS)


def player_code(to_move: int) -> int:
    """The board's code of the player to move (1 black, 2 white) from the rules' ``BLACK`` / ``WHITE``."""
    return 1 if to_move == BLACK else 2


def toggle_data(original: np.ndarray, edited: np.ndarray, editable: np.ndarray, on: bool) -> dict:
    """How a click on an edit board is painted: a square in ``editable`` [64] goes into the edit (its frame, and
    its disc drawn as ``edited`` [64] while the edit is ``on``) or out of it (as ``original`` [64])."""
    return {"original": [int(c) for c in original], "edited": [int(c) for c in edited],
            "editable": [bool(x) for x in editable], "on": bool(on)}


def board_data(cells: np.ndarray, legal: np.ndarray, to_move: int, last_move: int | None = None,
               flipped: np.ndarray | None = None, title: str | None = None, size: int = 420, shown: int = 0,
               position: str = "", paint: str | None = "play",
               extra: dict[str, list[int]] | None = None, font: int = 13, toggle: dict | None = None,
               heat: np.ndarray | None = None, heat_label: str = "P(move)", zmax: float | None = None,
               colorscale: str = "Blues", zmin: float = 0.0) -> dict:
    """What the browser draws: ``cells`` [64] (0 empty / 1 black / 2 white), the ``legal`` moves [64] of the
    player ``to_move`` (1 black / 2 white), the ``last_move`` and the discs it ``flipped``, other markers by
    name (``extra``: squares per ``MARKERS`` name); ``shown`` moves into the game, ``position`` the server's
    name for what it draws. ``paint`` says what a click paints before the server answers: "play" (a legal move,
    by the rules), "toggle" (a square in or out of an edit, as ``toggle``: ``toggle_data``) or None (nothing).
    ``heat`` [64] colours the squares on ``colorscale`` from ``zmin`` to ``zmax`` (default its largest value),
    with a colour bar named ``heat_label``, as ``board_figure``'s heat boards.

    >>> d = board_data(np.zeros(64, int), np.zeros(64, bool), to_move=1, last_move=None)
    >>> d["last"], d["markers"]["legal move"][:2], d["ringed"]
    (None, ['circle', '#ffb300'], ['legal move', 'edited square'])
    """
    if paint not in ("play", "toggle", None) or (paint == "toggle") != (toggle is not None):
        raise ValueError(f"paint is 'play', 'toggle' (with toggle=toggle_data(...)) or None, not {paint!r}")
    if to_move not in (1, 2):
        raise ValueError(f"to_move is 1 (black) or 2 (white), not {to_move!r}")
    unknown = set(extra or {}) - set(MARKERS)
    if unknown:
        raise ValueError(f"no marker named {sorted(unknown)}: the markers are {list(MARKERS)}")
    return {"cells": [int(c) for c in cells], "legal": [bool(x) for x in legal], "to_move": to_move,
            "last": None if last_move is None or last_move < 0 else int(last_move),
            "flipped": [bool(x) for x in (flipped if flipped is not None else np.zeros(64, bool))],
            "extra": {k: [int(s) for s in v] for k, v in (extra or {}).items()},
            "markers": {k: list(v) for k, v in MARKERS.items()}, "ringed": list(RINGED), "green": BOARD_GREEN,
            "title": title, "size": int(size), "font": font, "shown": int(shown), "position": position,
            "paint": paint, "toggle": toggle,
            "heat": None if heat is None else [round(float(v), 5) for v in heat], "heat_label": heat_label,
            "zmin": float(zmin), "zmax": float(zmax if zmax is not None else max(float(np.max(heat)), 1e-6))
            if heat is not None else 1.0, "scale": colour_scale(colorscale)}


def live_board(data: dict, key: str, on_square: Callable[[int], str | None] | None = None,
               shown_now: Callable[[], int] | None = None) -> None:
    """Draw ``data`` (``board_data``) under the element key ``key``; a click calls ``on_square(square)``, which
    changes the session state and returns None, or returns what was wrong (shown under the board while it shows
    that position). Runs before the page's script (a callback), so the one run that follows draws the new
    position. ``shown_now`` (the moves into the game the session is at) refuses a click made on the browser's
    painting of an earlier click the server never received (Streamlit keeps the newest of two it has not yet
    run): it would be applied to another position than the one it was made on. ``on_square=None``: a board
    to look at."""
    ss = st.session_state
    handled = ss.setdefault(CLICKS, {})
    if on_square is None:  # a board to look at: nothing to report
        _live_board(key=key, data=data | {"clickable": False, "paint": None, "clicks": 0}, width="content")
        return

    def clicked() -> None:
        click = getattr(ss.get(key), "square", None)  # {square, seq: the browser's click number, shown}
        if not isinstance(click, dict) or not 0 <= int(click.get("square", -1)) < 64:
            return
        # Streamlit keeps only the newest of two clicks that reach it before a run takes them: the browser's
        # click number (not a count here) lets it show the server's board at once when one was dropped
        handled[key] = max(handled.get(key, 0), int(click.get("seq", 0)))
        if shown_now is not None and click.get("shown") != shown_now():  # made on a painting of a lost click
            ss[ERRORS] = (key, data["position"], "A click was lost (two came faster than the server took them): "
                                                 "the board shows the position the server has. Click again.")
            return
        message = on_square(int(click["square"]))
        if message:
            ss[ERRORS] = (key, data["position"], message)
        else:
            ss.pop(ERRORS, None)

    _live_board(key=key, data=data | {"clickable": True, "clicks": handled.get(key, 0)}, on_square_change=clicked,
                width="content")
    error = ss.get(ERRORS)
    if error and error[:2] == (key, data["position"]):
        st.error(error[2])
    elif error and error[0] == key:  # about a position this board no longer shows
        ss.pop(ERRORS)
