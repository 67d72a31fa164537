"""Present's views, drawn large: the position's board and one chosen view beside it (prediction, a
probe's reading at a layer, the edit's before/after with its live toggle, or one attention head)."""

from __future__ import annotations

import streamlit as st

from app import common, edit_panel, edit_state
from app import present_data as D
from app import present_figures as F
from app.view_state import ViewSpec
from app.charts import chart as _chart


def chart(fig, key: str) -> None:
    _chart(fig, key=key, width="content")


def board(cells, legal, last, px) -> None:
    chart(F.board(cells, legal, last, *px), "present_board")


def prediction(analysis, position: int, cells, px) -> None:
    fig, headline = F.prediction(analysis, position, cells, *px)
    chart(fig, "present_view")
    st.markdown(f"#### {headline}")


def probe(svc, analysis, position: int, layer: int, kind: str, method: str, px) -> None:
    found = D.probe_key(svc.probes.mlp if svc.probes else (), kind, method)
    probs = common.probe_position(svc.name, analysis.moves, position).get(found[0]) if found else None
    if probs is None:
        st.info(f"The live model has no {method} {kind} probe.")
        return
    chart(F.probe(probs, analysis, position, layer, kind, px[0], found[1], px[1])[0], "present_view")


def edit(svc, analysis, position: int, px) -> None:
    """Replaces the plain board: the clickable board as edited, and the prediction under the edit."""
    relative = analysis.relative[position]
    to_move = int(analysis.to_move[position])
    spec = edit_panel.current()
    change = edit_state.to_edit(spec, relative)
    left, right = st.columns(2)
    with left:  # before the edited model runs: the click shows at once
        edit_panel.clickable_board("present_edit_board", position, relative, to_move, px[0], font=px[1])
    result = edit_panel.run(svc.name, analysis.moves, position, change) if change else None
    with right:
        edit_panel.toggle_button()
        if result is None:
            st.info("Click a disc on the board to edit it (the Interventions page sets layers and strength).")
            return
        fig, headline = F.edit_result(result, spec.on, to_move, *px)
        chart(fig, "present_view")
        st.markdown(f"#### {headline}")


def attention(analysis, position: int, cells, layer: int, head: int, px) -> None:
    chart(F.attention(analysis, position, cells, layer, head, *px)[0], "present_view")


def show(spec: ViewSpec, svc, analysis, position: int | None, cells, legal, last, layer: int, px=(430, 14)) -> None:
    """``px``: (the board's side, chart text) in pixels, for the window (``present_data.present_sizes``)."""
    if spec.view == "edit" and position is not None and analysis.to_move[position] != 0 and svc.probes is not None:
        edit(svc, analysis, position, px)
        return
    left, right = st.columns(2)
    with left:
        board(cells, legal, last, px)
    with right:
        if position is None:
            st.info("No model view here: play at least one move (the model reads up to 59).")
        elif spec.view == "probe":
            probe(svc, analysis, position, layer, spec.probe, spec.method, px)
        elif spec.view == "attention":
            attention(analysis, position, cells, D.attention_block(layer, svc.n_layers), spec.head, px)
        else:
            if spec.view == "edit":
                st.info("No edit here: the game is over or the model has no probes. Showing the prediction.")
            prediction(analysis, position, cells, px)

