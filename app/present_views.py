"""Present's views, drawn large: the position's board and one chosen view beside it (prediction, a
probe's reading at a layer, the edit's before/after with its live toggle, or one attention head)."""

from __future__ import annotations

import streamlit as st

from app import common, edit_panel, edit_state
from app import present_data as D
from app.view_state import ViewSpec
from othello_core.rules.notation import square_to_name
from app.figures import board_figure
from othello_core.rules.vocab import relative_to_colour

SIZE = 600
CONFIG = {"displayModeBar": False}


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config=CONFIG, width="content")


def board(cells, legal, last) -> None:
    chart(board_figure(cells, last_move=last, legal=legal, size=SIZE, title="Board · rings = legal moves"),
          "present_board")


def prediction(analysis, position: int, cells) -> None:
    chart(board_figure(cells, heat=analysis.move_probs[position], legal=analysis.legal[position], size=SIZE,
                       title="Model: P(next move) · rings = true legal moves"), "present_view")
    best, p, legal = analysis.top_moves(position, k=1)[0]
    st.markdown(f"### Top-1: {square_to_name(best)} ({p:.0%}), {'legal' if legal else 'ILLEGAL'}")


def probe(svc, analysis, position: int, layer: int, kind: str) -> None:
    key = ("linear", kind, 0)
    probs = common.probe_position(svc.name, analysis.moves, position).get(key)
    if probs is None:
        st.info(f"The live model has no linear {kind} probe.")
        return
    truth = {"mine_theirs": analysis.relative, "black_white": analysis.board,
             "blank": (analysis.board == 0).astype(int)}[kind][position]
    cells, confidence, wrong = D.probe_reading(probs[layer], truth, kind, int(analysis.to_move[position]))
    where = "the embedding" if layer == 0 else f"layer {layer}"
    chart(board_figure(cells, heat=confidence, flipped=wrong, size=SIZE, zmax=1.0, heat_label="confidence",
                       colorscale="Greens", title=f"Linear {kind.replace('_', '/')} probe after {where}: "
                                                   f"{64 - int(wrong.sum())}/64 squares right (× = wrong)"),
          "present_view")


def edit(svc, analysis, position: int) -> None:
    """Replaces the plain board: the clickable board as edited, and the prediction under the edit."""
    relative = analysis.relative[position]
    to_move = int(analysis.to_move[position])
    spec = edit_panel.current()
    change = edit_state.to_edit(spec, relative)
    result = edit_panel.run(svc.name, analysis.moves, position, change) if change else None
    left, right = st.columns(2)
    with left:
        edit_panel.clickable_board("present_edit_board", position, result, relative, to_move, SIZE)
    with right:
        edit_panel.toggle_button()
        if result is None:
            st.info("Click a disc on the board to edit it (the Interventions page sets layers and strength).")
            return
        on = spec.on
        cells = relative_to_colour(result.board_after if on else result.board_before, to_move)
        chart(board_figure(cells, heat=result.edited_probs if on else result.clean_probs,
                           legal=result.legal_after if on else result.legal_before, size=SIZE,
                           title=("Edit on: P(move) · rings = edited board's legal moves" if on
                                  else "Edit off: P(move) · rings = true legal moves")), "present_view")
        changed = ", ".join(square_to_name(s) for s in result.flipped_legality) or "no move"
        st.markdown(f"### Legality changed by the edit: {changed}")


def attention(analysis, position: int, cells, layer: int, head: int) -> None:
    weights = D.attention_on_squares(analysis.patterns, analysis.moves, layer, head, position)
    chart(board_figure(cells, heat=weights, size=SIZE, zmax=max(float(weights.max()), 1e-6), heat_label="attention",
                       colorscale="Purples",
                       title=f"Head L{layer}H{head} at move {position + 1}: attention on each earlier move's square"),
          "present_view")


def show(spec: ViewSpec, svc, analysis, position: int | None, cells, legal, last, layer: int) -> None:
    if spec.view == "edit" and position is not None and analysis.to_move[position] != 0 and svc.probes is not None:
        edit(svc, analysis, position)
        return
    left, right = st.columns(2)
    with left:
        board(cells, legal, last)
    with right:
        if position is None:
            st.info("No model view here: play at least one move (the model reads up to 59).")
        elif spec.view == "probe":
            probe(svc, analysis, position, layer, spec.probe)
        elif spec.view == "attention":
            attention(analysis, position, cells, min(layer, svc.n_layers - 1), spec.head)
        else:
            if spec.view == "edit":
                st.info("No edit here: the game is over or the model has no probes. Showing the prediction.")
            prediction(analysis, position, cells)

