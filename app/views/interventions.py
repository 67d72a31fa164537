"""Interventions: edit the board in the residual stream, live, and find the minimal edit."""

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from othello_core.analysis.attribution import edit_diff, summarize_edit_diff
from othello_core.analysis.interventions import Edit, single_layer_grid
from othello_core.reports.edit_report import outcome_caption, outcome_table
from othello_core.reports.sweep import sweep_caption, sweep_table
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import interventions_snippet
from othello_core.rules.notation import square_to_name
from othello_core.rules.vocab import relative_to_colour
from othello_core.rules.hooks import stream_label
from app.charts import chart
from app import common, edit_panel, edit_state
from app.live_board import board_data, live_board, player_code
from app.viewport import boards_in_row, viewport_size

ss = st.session_state
st.title("Interventions")
svc = common.service_with_probes("Edits use the model's probes, and **{name}** has none")

analysis, position = common.analysed_position()
if position is None or analysis.to_move[position] == 0:
    st.info("Go to a position with a next move (play or paste at least one move) to edit it.")
    st.stop()


@st.cache_data(max_entries=32, show_spinner="Decomposing the edit…")
def edit_diff_cached(source: str, moves: tuple, position: int, edit_fields: tuple) -> dict:
    service = common.load_service(source)
    diff = edit_diff(service, moves, position, Edit(**dict(edit_fields)))
    diff.pop("result")
    return diff


relative = analysis.relative[position]
to_move = int(analysis.to_move[position])
per_row, side = boards_in_row(viewport_size())  # three boards a row where they fit unsqueezed, else two


def board_slots() -> tuple:
    """(board as edited, before, after, change): one row of three and the change under the first; or the edited
    board beside the after board, the before board beside the change; or one under another (a narrow window)."""
    if per_row >= 3:
        edited_col, before_col, after_col = st.columns(3)
        return edited_col, before_col, after_col, st.columns(3)[0]
    if per_row == 1:
        return st.container(), st.container(), st.container(), st.container()
    edited_col, after_col = st.columns(2)
    before_col, change_col = st.columns(2)
    return edited_col, before_col, after_col, change_col


@st.fragment
def live_edit() -> None:
    """The edit's controls, its clickable board and what it changes: a click or a control reruns this part
    alone (the sidebar, the game and the sweep below do not change with the edit), then writes the link."""
    try:
        edit_body()
    finally:
        common.sync_url("interventions")


def edit_body() -> None:
    with st.container(border=True):
        edit_panel.controls(relative, svc.n_layers)

    spec = edit_panel.current()
    edit = edit_state.to_edit(spec, relative)
    b1, b2, b3, b4 = board_slots()
    with b1:  # the board as edited depends on the rules alone: drawn before the edited model runs
        edit_panel.clickable_board("edit_board", position, relative, to_move, size=side)
    result = edit_panel.run(svc.name, analysis.moves, position, edit) if edit else None
    if result is None:
        st.info("Pick at least one square (click a disc on the board) and one layer.")
        return
    enabled = spec.on
    probs = result.edited_probs if enabled else result.clean_probs
    before_cells = relative_to_colour(result.board_before, to_move)
    cells = relative_to_colour(result.board_after, to_move) if enabled else before_cells
    zmax = float(max(result.clean_probs.max(), probs.max()))  # both boards on one colour scale
    mover = player_code(to_move)
    with b2:  # the true board: the edit lives in the model's stream, not on this board
        live_board(board_data(before_cells, result.legal_before, to_move=mover, heat=result.clean_probs, size=side,
                              zmax=zmax, paint=None, position=f"edit_before_{position}",
                              title="Before (the true board)<br>P(move) · rings: the true legal moves"), "edit_before")
    names = " ".join(square_to_name(s) for s in edit.squares)
    legal = result.legal_after if enabled else result.legal_before  # the legal moves of the board shown
    marked = {"edited square": [int(s) for s in edit.squares]}
    with b3:  # the title names the edit (a test waits for it)
        live_board(board_data(cells, legal, to_move=mover, heat=probs, size=side, zmax=zmax, extra=marked, paint=None,
                              position=edit_state.result_key("edit_after", position, edit, enabled),
                              title=(f"After editing {names}<br>P(move) · rings: the edited board's legal moves"
                                     if enabled else f"Edit off ({names})<br>P(move) · rings: the true legal moves")),
                   "edit_after")
    with b4:  # the delta board: where the edit moved the prediction
        change = probs - result.clean_probs
        bound = max(float(np.abs(change).max()), 1e-6)
        live_board(board_data(cells, legal, to_move=mover, heat=change, zmin=-bound, zmax=bound, colorscale="RdBu_r",
                              size=side, heat_label="ΔP", extra=marked, paint=None,
                              position=edit_state.result_key("edit_change", position, edit, enabled),
                              title="Change: P(move) after − before<br>red: more likely · blue: less"),
                   "edit_change")

    st.markdown(outcome_table(result))  # the clean model against the edited one
    st.caption(outcome_caption(result))

    st.subheader("Where does the logit change come from?")
    decompose = st.toggle("Decompose this edit (direct logit attribution of the difference + composition test)",
                          key="edit_diff_on")
    if decompose:
        diff = edit_diff_cached(svc.name, analysis.moves, position, tuple(sorted(edit.__dict__.items())))
        if not diff["gained"] and not diff["lost"]:
            st.info("This edit changes no move's legality: nothing to decompose.")
        else:
            st.markdown(f"**{summarize_edit_diff(diff)}**")
            ranked = sorted(diff["dla"].items(), key=lambda kv: -abs(kv[1]))[:15]
            fig = go.Figure(go.Bar(x=[v for _, v in ranked][::-1], y=[k for k, _ in ranked][::-1], orientation="h"))
            fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10),
                              title=dict(text="DLA of the change (became-legal minus became-illegal logits)",
                                         font=dict(size=12)))
            d1, d2 = st.columns(2)
            chart(where=d1, fig=fig, key="diff_dla")
            through = diff["through_one_component"]
            fig2 = go.Figure(go.Bar(x=list(through.values()), y=list(through), orientation="h"))
            fig2.add_vline(x=diff["direct_only"], line=dict(dash="dot"),
                           annotation_text=f"direct only {diff['direct_only']:+.2f}")
            fig2.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10),
                               title=dict(text=f"Composition: total {diff['total']:+.2f}; effect added by "
                                               "letting one later component respond", font=dict(size=12)))
            chart(where=d2, fig=fig2, key="diff_composition")
    common.reproduce_expander(interventions_snippet(analysis.moves, position, edit, svc.name, decompose),
                              tl_snippets.interventions_snippet(analysis.moves, position, edit, svc.name))


live_edit()

st.subheader("Minimal-edit finder")
sweep_file = svc.folder / "edit_sweep.json"
if sweep_file.exists():
    sweep = json.loads(sweep_file.read_text())
    layers_, scales, grid = single_layer_grid(sweep)
    fig = go.Figure(go.Heatmap(z=grid, x=[stream_label(l) for l in layers_], y=[f"×{s}" for s in scales],
                               zmin=0, zmax=1, colorscale="Greens", text=np.round(grid, 2),
                               texttemplate="%{text:.0%}", colorbar=dict(title="success")))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="the one residual stream edited (add along the probe direction)", yaxis_title="scale")
    chart(fig, key="sweep_heatmap")
    st.dataframe(sweep_table(sweep), hide_index=True)
    st.caption(sweep_caption(sweep) + f" Best single layer: **{sweep['best_single_layer']}**. "
               f"Regenerate: `{sweep['command']}`")
else:
    st.info("No sweep cached for this model: run `python -m othello_core edits sweep --model "
            f"{svc.name}` (about two minutes on the bundled model).")
