"""Who reads a square? The probes' accuracy on it per stream, and the neurons, SAE features and transcoder
features whose rule labels (or best property) name it, each one click from its card."""

import plotly.graph_objects as go
import streamlit as st

from othello_core.analysis.square_search import STATES, probe_accuracy, readers
from othello_core.rules.hooks import stream_title
from othello_core.rules.notation import square_to_name
from app.charts import chart
from app import common, graph_data as G
from app.figures import signed_board_figure

ss = st.session_state
st.title("Who reads a square?")
svc = common.service()
choice = ss.get("search") or (18, "empty")
c1, c2 = st.columns([1, 3])
ss["search_square"], ss["search_state"] = choice
c1.selectbox("Square", list(range(64)), format_func=square_to_name, key="search_square",
             on_change=lambda: ss.update(search=(ss["search_square"], choice[1])))
c2.segmented_control("State (mine/theirs: relative to the player to move)", STATES, key="search_state",
                     on_change=lambda: ss.update(search=(choice[0], ss["search_state"] or choice[1])))
square, state = ss["search"] = choice
name = f"{square_to_name(square)} {state}"

accuracy = probe_accuracy(svc.probe_report or {}, square, state)
if accuracy:
    labels_ = [stream_title(s).replace(" · ", "<br>") for s in range(len(accuracy))]
    fig = go.Figure(go.Bar(x=labels_, y=accuracy, text=[f"{a:.1%}" for a in accuracy], textposition="outside",
                           marker_color="#1e88e5"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(range=[0, 1.08], tickformat=".0%"),
                      title=dict(text=f"the linear probe's held-out accuracy on {square_to_name(square)}, per stream",
                                 font=dict(size=14)))
    chart(fig, key="search_probe")
    st.caption("The mine/theirs probe is one three-way probe: its accuracy on a square covers mine and theirs alike.")

sets = {k: v for k, v in common.label_sets(svc.name).items() if v}
if not sets:
    st.info(f"No rule labels for **{svc.name}**: `python -m othello_core labels fit --model {svc.name}` makes them.")
    st.stop()
found = readers(sets, square, state, top=20)
st.subheader(f"Units that read *{name}*")
if not found:
    st.info(f"No labelled unit names {name} (rule R² or best-property F1 of at least 0.3).")
    st.stop()
table = [{"unit": f"{r['kind']} {r['set']} #{r['unit']}", "named by": r["via"], "score": r["score"],
          "rule": r["rule"], "best property": r["best"]} for r in found]
picked = st.dataframe(table, hide_index=True, key="search_table", on_select="rerun", selection_mode="single-row")
st.caption("score: the rule's held-out R² when its conditions include the property, else the F1 with which the unit "
           "detects it (the unit active above half its maximum). Rules: depth-3 decision trees over the board "
           "(`python -m othello_core labels fit`). Pick a row to open the unit.")
rows = picked.selection.rows if picked else []
if rows and rows[0] < len(found):
    r = found[rows[0]]
    if r["kind"] == "neurons":
        ss["neuron_layer"], ss["neuron_index"], ss["circuits_tab"] = int(r["set"][1:]), r["unit"], "Neuron explorer"
        st.page_link("views/circuits.py", label=f"Open neuron {r['set']}N{r['unit']} in the neuron explorer",
                     icon=":material/open_in_new:")
    elif r["kind"] == "sae":
        ss["feature_pick"] = r["unit"]
        st.page_link("views/features.py", label=f"Open SAE feature {r['unit']} on the Features page",
                     icon=":material/open_in_new:")
    else:
        layer = int(r["set"][1:])
        st.markdown(f"**Transcoder feature {r['unit']} of {r['set']}** (`blocks.{layer}.hook_mlp_out`): {r['rule']}; "
                    f"best property {r['best']}. Open the Graph page at a position where it fires to trace it.")
        chart(signed_board_figure([G.feature_logit_effect(svc.name, layer, r["unit"])],
                                  ["direct effect of its decoder direction on each move's logit"], "logit"),
              key="search_tc_effect")
