"""Graph: circuit-tracer's attribution graph of one move's logit over the transcoder features, with node
cards and live node edits."""

import numpy as np
import streamlit as st

from othello_core.analysis.graphs.intervene import OPS
from othello_core.analysis.graphs.view import parse_key
from othello_core.rules.hooks import block_label, mlp_out
from othello_core.rules.board import replay
from othello_core.rules.notation import square_to_name
from othello_core.rules.vocab import MOVE_SQUARES
from app.charts import chart
from app import common, graph_data as G, heavy
from app.figures import board_figure, feature_activation_figure, signed_board_figure
from app.graph_figures import graph_figure, node_label, selected_key
from app.graph_state import GraphSpec

ss = st.session_state
st.title("Attribution graph")
svc = common.service()
analysis, position = common.analysed_position()
if position is None:
    st.info("Play or paste at least one move (up to 59) to trace how the model predicts the next one.")
    st.stop()
if not G.has_transcoders(svc.name):
    st.info(f"No transcoders for **{svc.name}**: `python -m othello_core transcoders train --model {svc.name}` "
            "then `transcoders ship` make them (the bundled model ships its set).")
    st.stop()


def spec() -> GraphSpec:
    return ss.get("graph") or GraphSpec()


def store(new: GraphSpec) -> None:
    ss["graph"] = new


moves = tuple(analysis.moves)
probs, legal = analysis.move_probs[position], analysis.legal[position]
top = int(probs.argmax())
TOP = -1  # the target choice "the top move" (the link leaves graph_target out)
order = sorted(range(64), key=lambda s: (not legal[s], -probs[s]))
targets = [TOP] + [s for s in order if s != top and s in set(MOVE_SQUARES.tolist())]  # any move's logit, legal first
cells, _ = common.board_arrays(common.game().board)

board_col, head = st.columns([1, 1])  # half the width: the board (220 px + its colour bar) is never squeezed
with board_col:
    chart(board_figure(cells, heat=probs, legal=legal, last_move=moves[position], size=230),
          key="graph_board", width="content")
    st.caption("P(next move) as heat · rings: the true legal moves · dot: the last move")
with head:
    ss["graph_target_pick"] = spec().target if spec().target in targets else TOP
    st.selectbox("Explain the logit of", targets, key="graph_target_pick",
                 format_func=lambda s: (f"the top move, {square_to_name(top)} (P {probs[top]:.0%})" if s == TOP else
                                        f"{square_to_name(s)} · {'legal' if legal[s] else 'not legal'} · P {probs[s]:.1%}"),
                 on_change=lambda: store(spec().with_(target=None if ss["graph_target_pick"] == TOP
                                                      else ss["graph_target_pick"], node=None)))
    target = spec().target
    try:
        view = G.graph(svc.name, moves, position, target)
    except (heavy.Busy, heavy.StillRunning) as err:
        st.warning(str(err))
        st.stop()
    except Exception as err:  # noqa: BLE001
        st.error(f"circuit-tracer could not build this graph ({type(err).__name__}: {err}). "
                 "Try another target or position.")
        st.stop()
    labels = G.labels(svc.name)
    m = st.columns(2) + st.columns(2)
    m[0].metric("replacement score", f"{view.replacement_score:.2f}",
                help="circuit-tracer: share of the input-to-logit influence that flows through features rather than errors.")
    m[1].metric("completeness", f"{view.completeness_score:.2f}",
                help="circuit-tracer: influence-weighted share of every node's inputs explained by features or inputs.")
    m[2].metric("logit inputs shown", f"{view.logit_share:.0%}",
                help="Of the direct effects on the target logit (by |weight|), the share from the nodes drawn here.")
    m[3].metric("nodes drawn", f"{len(view.nodes)} / {view.n_pruned}",
                help=f"circuit-tracer's pruning keeps {view.n_pruned} nodes of {view.n_active:,} active features and "
                     "the errors and inputs; the most influential are drawn.")
    st.markdown(f"Why does the model give **{square_to_name(view.target)}** "
                f"({'legal' if legal[view.target] else 'not legal'}) P {view.target_probability:.1%} after move "
                f"{position + 1}? Graph computed in {view.seconds:.0f} s, cached for this position and target.")

edited_keys = {k for k, _, _ in spec().edits}
chart_key = f"graph_chart_{position}_{target}"
event = chart(graph_figure(view, labels, spec().pinned, spec().node, edited_keys), key=chart_key,
              on_select="rerun", selection_mode="points")
clicked = selected_key(event)
if clicked and ss.get("graph_last_click") != (chart_key, clicked):
    ss["graph_last_click"] = (chart_key, clicked)
    store(spec().with_(node=clicked))
st.caption("Rows: the transcoder features of each layer's MLP (circles; labelled with the feature's rule from "
           "`labels fit`, or the board property it detects best), that layer's error (diamonds), the input moves "
           "(squares), the target logit (star). Edges: direct effects with attention and LayerNorm frozen; red "
           "raises the target, blue lowers it. Node size: influence on the target. Click a node for its card; "
           "black ring: pinned; amber: selected; ×: edited.")

node_key = spec().node
node = next((n for n in view.nodes if n.key == node_key), None)
if node_key and node is None and parse_key(node_key):
    st.info(f"Node {node_key} is not among the nodes drawn for this position and target.")
if node is not None:
    st.subheader(f"{node.key} · {node_label(node, labels, view.moves)}")
    pin, _ = st.columns([1, 5])
    pin.button("Unpin" if node.key in spec().pinned else "Pin", key="graph_pin_toggle",
               on_click=lambda: store(spec().toggle_pin(node.key)))
    st.markdown(f"Influence on the target {node.influence:.1%}; direct effect on its logit {node.to_logit:+.3f}.")
    if node.kind == "feature":
        sets = (labels or {}).get(block_label(node.layer))
        if sets is not None:
            st.markdown(f"**Rule** (depth-3 tree over the board, held-out R² {sets.r2[node.feature]:.2f}): "
                        f"{sets.rule(node.feature)}. **Best single property:** {sets.best(node.feature)}.")
        c1, c2 = st.columns(2)
        along = G.feature_along_game(svc.name, moves, node.layer)[:, node.feature]
        chart(where=c1, fig=feature_activation_figure(along, position, f"activation along this game (`{mlp_out(node.layer)}` feature "
                                                                         f"{node.feature})"), key="graph_node_along")
        chart(where=c2, fig=signed_board_figure([G.feature_logit_effect(svc.name, node.layer, node.feature)],
                                                ["direct effect of its decoder direction on each move's logit"], "logit"),
              key="graph_node_effect")
        acts, pick, squares = G.held_out_activations(svc.name, node.layer)
        best_rows = np.argsort(-acts[:, node.feature])[:4]
        cols = st.columns(4)
        for rank, (col, row) in enumerate(zip(cols, best_rows)):
            g, p = pick[row]
            b, _ = common.board_arrays(replay([int(s) for s in squares[g][: p + 1]]).board)
            chart(where=col, fig=board_figure(b, last_move=int(squares[g][p]), size=220,
                                              title=f"{acts[row, node.feature]:.2f} · move {p + 1}"),
                  key=f"graph_node_top_{rank}", width="content", config={"staticPlot": True})
        st.caption("Where it fires most on 60 held-out games (the label's test games).")
        e1, e2, e3 = st.columns([2, 1, 1])
        op = e1.segmented_control("Intervene", OPS, default="zero", key="graph_op") or "zero"
        value = e2.number_input("factor" if op == "scale" else "activation", -50.0, 50.0,
                                0.0 if op == "zero" else (2.0 if op == "scale" else round(node.activation, 2)),
                                key=f"graph_value_{op}", disabled=op == "zero")
        e3.button("Apply edit", key="graph_apply", type="primary",
                  on_click=lambda: store(spec().set_edit(node.key, op, value)))
    else:
        st.caption("Only feature nodes can be edited (errors and inputs are not features of the replacement model).")

if spec().edits:
    st.subheader("Node edits: before and after")
    for i, (key, op, value) in enumerate(spec().edits):
        a, b = st.columns([5, 1])
        a.markdown(f"`{key}`: {op}" + ("" if op == "zero" else f" {value:g}"))
        b.button("Remove", key=f"graph_drop_{i}", on_click=lambda k=key: store(spec().drop_edit(k)))
    after = G.edited_probs(svc.name, moves, position, tuple(spec().node_edits(position)))
    c1, c2 = st.columns(2)
    zmax = float(max(probs.max(), after.max()))
    for col, p, name in ((c1, probs, "before"), (c2, after, "after")):
        best = int(p.argmax())
        chart(where=col, fig=board_figure(cells, heat=p, legal=legal, size=360, zmax=zmax,
                                          title=f"{name}: top-1 {square_to_name(best)} ({'legal' if legal[best] else 'ILLEGAL'}) · "
                                                f"{p[legal].sum():.1%} on legal moves · P({square_to_name(view.target)}) "
                                                f"{p[view.target]:.1%}"),
              key=f"graph_{name}", width="content")
    st.caption("The edits act in the real model (its own MLPs), through the model service's lock: the MLP output at "
               "the node's layer and move gets (new - current activation) × the feature's decoder direction. "
               "Rings: the true legal moves; both boards on one colour scale.")
