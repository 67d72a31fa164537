"""The browser window's size, reported by a few lines of JavaScript (Streamlit's components v2, code in
``app/static/viewport.js``, fetched from the app's own server: no build step), so Present can size its boards
and text for the projector it is shown on."""

from __future__ import annotations

import streamlit as st

from app.static_component import static_component

_viewport = static_component("othello_viewport", "viewport.js")


def viewport_size() -> tuple[int, int] | None:
    """(width, height) of the browser window in CSS pixels; None until the browser has reported it (the first
    run of a page), and in tests without a browser."""
    size = _viewport(key="viewport", on_size_change=lambda: None).size
    if not size or len(size) != 2:
        return None
    return int(size[0]), int(size[1])


# Streamlit 1.67's wide layout, measured in chromium at 1024, 1280 and 1920 px: the sidebar, the main column's
# padding, the gap between columns, and a heat board's colour bar beside it.
SIDEBAR, PADDING, GAP, SCALE = 300, 160, 16, 86


def content_width(viewport: tuple[int, int] | None) -> int:
    """The main column's width in pixels in a window ``viewport`` (1280x720 before the browser reports it; at
    least 320, where a narrow window hides the sidebar).

    >>> content_width((1920, 1080)), content_width((1024, 768)), content_width(None), content_width((400, 800))
    (1460, 564, 820, 320)
    """
    return max(320, (viewport or (1280, 720))[0] - SIDEBAR - PADDING)


def boards_in_row(viewport: tuple[int, int] | None, boards: int = 3, largest: int = 360,
                  smallest: int = 260) -> tuple[int, int]:
    """(boards a row, board side in pixels) so that ``boards`` heat boards, each with its colour bar, fit the main
    column of a window ``viewport`` beside the sidebar unsqueezed: as many a row as fit at ``smallest`` or more
    (a board wider than its column is shrunk by the browser while its discs keep their size). Before the browser
    reports its size, 1280x720.

    >>> boards_in_row((1920, 1080)), boards_in_row((1280, 720)), boards_in_row((1024, 768)), boards_in_row(None)
    ((3, 360), (2, 316), (1, 360), (2, 316))
    >>> [boards_in_row(size, boards=2, largest=420) for size in ((1920, 1080), (1280, 720), (1024, 768))]  # Play
    [(2, 420), (2, 316), (1, 420)]
    """
    width = content_width(viewport)
    for per_row in range(boards, 0, -1):
        side = int((width - GAP * (per_row - 1)) / per_row) - SCALE
        if side >= smallest or per_row == 1:
            return per_row, max(smallest, min(largest, side))
    raise ValueError("boards must be at least 1")

