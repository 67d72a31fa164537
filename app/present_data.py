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


def attention_block(stream: int, n_layers: int) -> int:
    """The block whose heads the shared layer (a stream) names: the one writing that stream (embed: L0).

    >>> attention_block(6, 8), attention_block(0, 8), attention_block(9, 8)
    (5, 0, 7)
    """
    return min(max(stream - 1, 0), n_layers - 1)


def probe_key(mlp_keys, kind: str, method: str) -> tuple[tuple, str] | None:
    """(the key of ``probe_position``'s result, the probe's name) of the ``linear`` or ``mlp`` probe of ``kind``
    (``mlp_keys``: the shipped MLP probes' ``(kind, width)``, the widest used); None if there is no such probe.

    >>> probe_key([("blank", 128), ("black_white", 128)], "black_white", "mlp")
    (('mlp', 'black_white', 128), 'MLP-128')
    >>> probe_key([], "black_white", "mlp"), probe_key([], "blank", "linear")
    (None, (('linear', 'blank', 0), 'Linear'))
    """
    if method == "linear":
        return ("linear", kind, 0), "Linear"
    widths = sorted(w for k, w in mlp_keys if k == kind)
    return (("mlp", kind, widths[-1]), f"MLP-{widths[-1]}") if widths else None


def probe_reading(probs: np.ndarray, truth: np.ndarray, kind: str, to_move: int, board: np.ndarray | None = None):
    """A probe's reading of one position at one layer, ``probs`` ``[64, classes]`` against the true
    classes ``truth`` ``[64]``: (cells to draw as discs [64] 0/1 black/2 white, the heat [64], the squares it
    reads wrong [64] bool). For mine/theirs and colour the discs are what the probe reads and the heat its
    confidence; for blank (class 1 = empty) the discs are the true board's (``board``) and the heat P(empty)."""
    read = probs.argmax(-1)
    wrong = read != np.asarray(truth)
    if kind == "mine_theirs":
        return relative_to_colour(read, to_move), probs.max(-1), wrong
    if kind == "black_white":
        return read, probs.max(-1), wrong
    return (np.zeros(64, int) if board is None else np.asarray(board)), probs[:, 1], wrong


def present_sizes(viewport: tuple[int, int] | None, view: str = "prediction") -> tuple[int, int]:
    """(board side, chart text) in pixels for Present in a browser window of ``viewport`` (width, height): two
    boards side by side with their colour bars, under the navigation, caption and view bar, with no scrolling;
    text 18 px and up on a 1920x1080 projector, never under 14 px. Before the browser reports its size,
    1280x720 (the most common projector).

    >>> present_sizes((1920, 1080)), present_sizes((1280, 720)), present_sizes((1024, 768)), present_sizes(None)
    ((740, 18), (380, 14), (360, 14), (380, 14))
    >>> present_sizes((1920, 1080), "edit"), present_sizes((1024, 768), "edit")
    ((650, 18), (280, 14))
    """
    width, height = viewport or (1280, 720)
    chrome = 340 + (90 if view == "edit" else 0)  # navigation, caption, view bar, headline, gaps (+ the edit switch)
    chrome += 60 if width < 1200 else 0  # narrow: the caption and headline wrap onto more lines
    side = int(min((width - 64) / 2 - 120, height - chrome))
    side = max(280, min(side, 860))
    return side, int(max(14, min(22, width / 106, height / 60)))
