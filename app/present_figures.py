"""Present's views as figures, one function per view (pure: no Streamlit). Present draws them live; the
tour export (``tour_export``) draws the same figures into one offline HTML file."""

from __future__ import annotations

import numpy as np

from app import present_data as D
from app.figures import board_figure
from othello_core.rules.hooks import stream_title
from othello_core.rules.notation import square_to_name
from othello_core.rules.vocab import relative_to_colour

PROBE_TRUTH = {"mine_theirs": "relative", "black_white": "board"}


def board(cells, legal, last, size: int, font: int = 13):
    return board_figure(cells, last_move=last, legal=legal, size=size, font=font, title="Board · rings = legal moves")


def prediction(analysis, position: int, cells, size: int, font: int = 13):
    """(figure, headline) of the model's next-move probabilities."""
    fig = board_figure(cells, heat=analysis.move_probs[position], legal=analysis.legal[position], size=size, font=font,
                       title="Model: P(next move) · rings = true legal moves")
    best, p, legal = analysis.top_moves(position, k=1)[0]
    return fig, f"Top-1: {square_to_name(best)} ({p:.0%}), {'legal' if legal else 'ILLEGAL'}"


def probe(probs: np.ndarray, analysis, position: int, layer: int, kind: str, size: int, name: str = "Linear",
          font: int = 13):
    """(figure, headline) of a probe's reading at stream ``layer`` (``probs`` ``[streams, 64, classes]``); ``name``
    says which probe (``Linear``, ``MLP-128``)."""
    truth = (analysis.board == 0).astype(int)[position] if kind == "blank" else \
        getattr(analysis, PROBE_TRUTH[kind])[position]
    cells, heat, wrong = D.probe_reading(probs[layer], truth, kind, int(analysis.to_move[position]),
                                         analysis.board[position])
    right = 64 - int(wrong.sum())
    what = "P(empty)" if kind == "blank" else "confidence"
    fig = board_figure(cells, heat=heat, wrong=wrong, size=size, font=font, zmax=1.0, heat_label=what, colorscale="Greens",
                       title=f"{name} {kind.replace('_', '/')} probe: {right}/64 right"
                             f"<br>{stream_title(layer)}")
    return fig, f"The {name.lower()} probe reads {right} of 64 squares right"


def attention(analysis, position: int, cells, layer: int, head: int, size: int, font: int = 13):
    weights = D.attention_on_squares(analysis.patterns, analysis.moves, layer, head, position)
    fig = board_figure(cells, heat=weights, size=size, font=font, zmax=max(float(weights.max()), 1e-6), heat_label="attention",
                       colorscale="Purples",
                       title=f"Head L{layer}H{head} (blocks.{layer}.attn.hook_pattern), move {position + 1}:"
                             "<br>attention on each earlier move's square")
    return fig, f"L{layer}H{head} attends most to move {int(np.argmax(analysis.patterns[layer, head, position, :position + 1])) + 1}"


def edit_result(result, on: bool, to_move: int, size: int, font: int = 13):
    """(figure, headline) of an edit's prediction: edited (on) or clean (off), each against its board's legal moves."""
    cells = relative_to_colour(result.board_after if on else result.board_before, to_move)
    fig = board_figure(cells, heat=result.edited_probs if on else result.clean_probs,
                       legal=result.legal_after if on else result.legal_before, size=size, font=font,
                       title=("Edit on: P(move)<br>rings = the edited board's legal moves" if on
                              else "Edit off: P(move)<br>rings = the true legal moves"))
    return fig, legality_change(result)


def legality_change(result) -> str:
    """Which moves the edit makes legal and which it makes illegal (a direction for each)."""
    became = [s for s in result.flipped_legality if result.legal_after[s]]
    lost = [s for s in result.flipped_legality if not result.legal_after[s]]
    parts = [f"legal now: {', '.join(square_to_name(s) for s in became)}" if became else "",
             f"no longer legal: {', '.join(square_to_name(s) for s in lost)}" if lost else ""]
    return "The edit changes legality: " + "; ".join(p for p in parts if p) if became or lost else \
        "The edit changes no move's legality"
