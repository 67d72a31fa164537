"""What Present draws for each view, as arrays (pure: numpy in, numpy out; no Streamlit)."""

from __future__ import annotations

import numpy as np

from othello_core.rules.vocab import relative_to_colour


def attention_on_squares(patterns: np.ndarray, moves, layer: int, head: int, position: int) -> np.ndarray:
    """``[64]``: how much head ``layer.head`` at ``position`` attends to each earlier move, drawn on the
    square that move was played on (``patterns`` is ``[layers, heads, pos, pos]``)."""
    row = np.asarray(patterns[layer, head, position, :position + 1], dtype=float)
    out = np.zeros(64)
    np.add.at(out, np.asarray(moves[:position + 1], dtype=int), row)
    return out


def probe_reading(probs: np.ndarray, truth: np.ndarray, kind: str, to_move: int):
    """A probe's reading of one position at one layer, ``probs`` ``[64, classes]`` against the true
    classes ``truth`` ``[64]``: (cells to draw as discs [64] 0/1 black/2 white, the probe's confidence
    in what it reads [64], the squares it reads wrong [64] bool)."""
    read = probs.argmax(-1)
    confidence = probs.max(-1)
    wrong = read != np.asarray(truth)
    if kind == "mine_theirs":
        cells = relative_to_colour(read, to_move)
    elif kind == "black_white":
        cells = read
    else:  # blank: 1 = empty; occupied squares drawn as the true discs
        cells = np.zeros(64, int)
    return cells, confidence, wrong
