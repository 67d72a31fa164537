"""A clickable board whose click is handled before the page runs again: one script run per click.

A plotly chart with ``on_select="rerun"`` hands the click to the page body, which must then change the
state and call ``st.rerun()``: two runs of the whole page for one click. Here the chart's ``on_select``
callback reads the clicked square (``selection_to_square``) and hands it to the page's handler; Streamlit
runs callbacks before the script, so the one run that follows already draws the new position. The chart's
element key must name what the board shows, so a selection kept by the old chart is never replayed.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from app.charts import chart
from app.figures import selection_to_square

ERRORS = "board_click_error"  # session key: (board key, message) of the last refused click


def board(fig, key: str, on_square: Callable[[int], str | None]) -> None:
    """Draw ``fig`` (a ``board_figure(..., clickable=True)``) under ``key``; a click calls ``on_square(square)``,
    which changes the session state and returns None, or returns what was wrong (shown under this board
    until another clickable board is drawn: a page has one)."""
    ss = st.session_state

    def clicked() -> None:
        square = selection_to_square(ss.get(key))
        if square is not None:
            message = on_square(square)
            if message:
                ss[ERRORS] = (key, message)
            else:
                ss.pop(ERRORS, None)

    chart(fig, key=key, on_select=clicked, selection_mode="points", width="content")
    error = ss.get(ERRORS)
    if error and error[0] != key:  # an error is about one board: gone once another is drawn (one a page)
        ss.pop(ERRORS)
    elif error:
        st.error(error[1])
