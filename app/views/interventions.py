"""Interventions: edit the board in the residual stream, live, and find the minimal edit."""

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from othello_core.analysis.attribution import edit_diff, summarize_edit_diff
from othello_core.analysis.interventions import Edit, apply_edit, single_layer_grid
from othello_core.reports.snippets import interventions_snippet
from othello_core.rules.notation import square_to_name
from othello_core.rules.vocab import relative_to_colour
from app import common
from app.figures import board_figure

ss = st.session_state
st.title("Interventions")
svc = common.service_with_probes("Edits use the model's probes, and **{name}** has none")

analysis, position = common.analysed_position()
if position is None or analysis.to_move[position] == 0:
    st.info("Go to a position with a next move (play or paste at least one move) to edit it.")
    st.stop()


@st.cache_data(max_entries=64, show_spinner="Running the edited model…")
def edited(source: str, moves: tuple, position: int, edit_fields: tuple):
    service = common.load_service(source)
    clean = common.analyze(source, moves).move_probs[position]  # cached: saves the clean forward
    return apply_edit(service, moves, position, Edit(**dict(edit_fields)), clean_probs=clean)


@st.cache_data(max_entries=32, show_spinner="Decomposing the edit…")
def edit_diff_cached(source: str, moves: tuple, position: int, edit_fields: tuple) -> dict:
    service = common.load_service(source)
    diff = edit_diff(service, moves, position, Edit(**dict(edit_fields)))
    diff.pop("result")
    return diff


relative = analysis.relative[position]
to_move = int(analysis.to_move[position])

with st.container(border=True):
    c1, c2, c3 = st.columns([2, 1, 1])
    target = c2.selectbox("Make the squares", ["flip", "blank", "mine", "theirs"], key="edit_target",
                          format_func={"flip": "flip mine↔theirs", "blank": "blank", "mine": "mine",
                                       "theirs": "theirs"}.get)
    pool = np.flatnonzero(relative != 0) if target in ("flip", "blank") else np.flatnonzero(relative == 0)
    squares = c1.multiselect("Squares", [int(s) for s in pool], format_func=square_to_name,
                             default=[int(pool[0])] if len(pool) else [], key=f"edit_squares_{position}_{target}")
    enabled = c3.toggle("Edit on", value=True, key="edit_on")
    c4, c5, c6 = st.columns([2, 1, 1])
    layers = c4.multiselect("Edit the residual stream after layer(s)", list(range(1, svc.n_layers + 1)),
                            default=[max(1, svc.n_layers // 2)], key="edit_layers")
    method = c5.selectbox("Method", ["add", "set", "gradient"], key="edit_method",
                          help="add: x += scale·|x|·d; set: coordinate along d := scale·|x|; "
                               "gradient: optimise x so the MLP probe reads the edited board (Li et al.)")
    positions = c6.radio("Positions", ["last", "all"], horizontal=True, key="edit_positions")
    if method == "gradient":
        g1, g2, g3 = st.columns(3)
        params = {"steps": g1.slider("steps", 5, 100, 30, key="edit_steps"),
                  "lr": g2.select_slider("lr", [0.01, 0.03, 0.1, 0.3, 1.0], 0.1, key="edit_lr"),
                  "reg": g3.select_slider("regulariser", [0.0, 0.001, 0.01, 0.1, 1.0], 0.01, key="edit_reg"),
                  "scale": 1.0}
    else:
        params = {"scale": st.slider("scale (fraction of the residual norm)", 0.0, 2.0, 0.5, 0.05,
                                     key="edit_scale")}

if not squares or not layers:
    st.info("Pick at least one square and one layer.")
    st.stop()

edit = Edit(tuple(squares), target, tuple(sorted(layers)), positions, method, **params)
result = edited(svc.name, analysis.moves, position, tuple(sorted(edit.__dict__.items())))
probs = result.edited_probs if enabled else result.clean_probs

b1, b2, b3 = st.columns(3)
changed = np.zeros(64, bool)
changed[list(squares)] = True
with b1:
    cells = relative_to_colour(result.board_after if enabled else result.board_before, to_move)
    st.plotly_chart(board_figure(cells, flipped=changed if enabled else None, size=360,
                                 title="Board as edited" if enabled else "True board"),
                    key="edit_board", config={"displayModeBar": False}, width="content")
with b2:
    st.plotly_chart(board_figure(cells, heat=result.clean_probs, legal=result.legal_before, size=360,
                                 title="Before: P(move) · true legal"),
                    key="edit_before", config={"displayModeBar": False}, width="content")
with b3:
    st.plotly_chart(board_figure(cells, heat=probs, legal=result.legal_after, size=360,
                                 title=("After edit" if enabled else "Edit off") + ": P(move) · edited legal"),
                    key="edit_after", config={"displayModeBar": False}, width="content")

e = result.errors
m1, m2, m3 = st.columns(3)
m1.metric("Errors vs edited board, edited model (FP+FN)", e["edited_vs_edited_board"]["nanda"],
          delta=e["edited_vs_edited_board"]["nanda"] - e["clean_vs_edited_board"]["nanda"],
          delta_color="inverse")
m2.metric("Li et al. errors (FP in top-N)", e["edited_vs_edited_board"]["li"],
          delta=e["edited_vs_edited_board"]["li"] - e["clean_vs_edited_board"]["li"], delta_color="inverse")
m3.metric("Clean model vs true board (FP+FN)", e["clean_vs_true_board"]["nanda"])
flips = ", ".join(f"{square_to_name(s)} ({'now legal' if result.legal_after[s] else 'now illegal'})"
                  for s in result.flipped_legality) or "no move"
st.caption(f"The edit changes the legality of: {flips}. Errors count the top-N predictions "
           "(N = number of legal moves on the edited board) against the edited board's legal moves.")

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
        d1.plotly_chart(fig, key="diff_dla")
        through = diff["through_one_component"]
        fig2 = go.Figure(go.Bar(x=list(through.values()), y=list(through), orientation="h"))
        fig2.add_vline(x=diff["direct_only"], line=dict(dash="dot"),
                       annotation_text=f"direct only {diff['direct_only']:+.2f}")
        fig2.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10),
                           title=dict(text=f"Composition: total {diff['total']:+.2f}; effect added by "
                                           "letting one later component respond", font=dict(size=12)))
        d2.plotly_chart(fig2, key="diff_composition")
common.reproduce_expander(interventions_snippet(analysis.moves, position, edit, svc.name, decompose))

st.subheader("Minimal-edit finder")
sweep_file = svc.folder / "edit_sweep.json"
if sweep_file.exists():
    sweep = json.loads(sweep_file.read_text())
    layers_, scales, grid = single_layer_grid(sweep)
    fig = go.Figure(go.Heatmap(z=grid, x=[f"L{l}" for l in layers_], y=[f"×{s}" for s in scales],
                               zmin=0, zmax=1, colorscale="Greens", text=np.round(grid, 2),
                               texttemplate="%{text:.0%}", colorbar=dict(title="success")))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="single layer edited (add along the probe direction)", yaxis_title="scale")
    st.plotly_chart(fig, key="sweep_heatmap")
    st.dataframe([{"setting": r["name"], "success": r["success_rate"], "errors (FP+FN)": r["mean_errors_nanda"],
                   "errors (Li)": r["mean_errors_li"]} for r in sweep["settings"]], hide_index=True)
    st.caption(f"{sweep['positions']} positions ({sweep['sources']}); success = the edited model's top-N "
               f"matches the edited board's legal moves exactly. Best single layer: "
               f"**{sweep['best_single_layer']}**. Regenerate: `{sweep['command']}`")
else:
    st.info("No sweep cached for this model: run `python -m othello_core edits sweep --model "
            f"{svc.name}` (about two minutes on the bundled model).")
