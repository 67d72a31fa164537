"""Findings: the project's questions answered with numbers, each with its command."""

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from othello_core.analysis.probe_suite import compare_records
from othello_core.reports.snippets import findings_snippet
from othello_core.reports.sweep import sweep_caption, sweep_table
from othello_core.rules.hooks import block_label, stream_label, stream_title
from app.charts import chart
from app import common
from app.figures import board_grid_figure, head_summary_figure, late_game_figure, sae_vs_probe_figure

st.title("Findings")
svc = common.service()
path = svc.folder / "findings.json"
if not path.exists():
    st.info(f"No findings for **{svc.name}** yet: run `python -m othello_core findings --model {svc.name}`.")
    st.stop()
findings = json.loads(path.read_text())
if findings.get("model_hash") != svc.hash:
    st.warning("These findings were computed on other weights than the live model; regenerate them.")
if not findings.get("paper_weights"):
    st.info("The paper's weights could not be used here (no internet), so every number below is measured "
            f"on **{findings['model']}**, the model this project trained. The published figures for the paper's "
            "models: linear mine/theirs 90.8→99.5% (after L0–L7: their layers 1–8), linear colour ~75%, MLP colour ~98% "
            "(Nanda et al. 2023; Hazineh et al. 2023, Table 1; Li et al. 2023).")


def curves(layers, series, title, yformat=".0%"):
    fig = go.Figure()
    for name, values in series.items():
        if values:
            fig.add_trace(go.Scatter(x=layers, y=values, mode="lines+markers", name=name))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), title=dict(text=title, font=dict(size=13)),
                      xaxis=dict(title="residual stream", tickvals=layers, ticktext=[stream_label(s) for s in layers]),
                      yaxis=dict(tickformat=yformat),
                      legend=dict(orientation="h", y=-0.3))
    return fig


st.header("(a) Why nonlinear probes beat linear ones in colour, not in mine/theirs")
p = findings["probes"]
st.markdown(f"**{p['sentence']}**")
span_name = "linear mine/theirs, moves {}–{}".format(*p.get("span_moves", ("?", "?")))
control = p.get("control") or {}
chart(curves(p["layers"], {"linear mine/theirs": p["linear_mine_theirs"],
                           span_name: p.get("linear_mine_theirs_span"),
                           "linear black/white": p["linear_black_white"],
                           f"MLP-{p['mlp_width']} black/white": p["mlp_black_white"],
                           f"MLP-{p['mlp_width']} mine/theirs": p.get("mlp_mine_theirs"),
                           "control: linear mine/theirs": control.get("linear_mine_theirs"),
                           "control: linear black/white": control.get("linear_black_white"),
                           f"control: MLP-{p['mlp_width']} black/white": control.get("mlp_black_white")},
             "cell accuracy per layer (control: the random-init model, probed the same way)"),
      key="f_probes")
if p.get("compare"):
    st.markdown("**Beside the published figures** (Li et al. 2023, Table 2; Hazineh et al. 2023, Table 1)")
    st.dataframe(compare_records(p["compare"]), hide_index=True, key="f_reproduction")
    st.caption("Each row's protocol: " + "; ".join(sorted({f"{r['label']}: {r['protocol']}" for r in p["compare"]})))
st.caption(f"Regenerate: `{p['command']}`, then `python -m othello_core findings`")

st.header("(b) Do simpler features explain the nonlinear probe's edge?")
c = findings["simpler_features"]
st.markdown(f"**{c['sentence']}**")
layers = list(range(len(c["composed_colour_accuracy"])))
chart(curves(layers, {"composed: mine/theirs XOR whose-turn": c["composed_colour_accuracy"],
                      "MLP colour probe": c["mlp_colour_accuracy"],
                      "linear 'black to move'": c["turn_probe_accuracy"]},
             "colour board read by composing two linear probes"), key="f_comp")
if c.get("features_r2"):
    r2 = c["features_r2"]
    st.dataframe([{"stream": stream_title(s), **{name: values[s] for name, values in r2.items()}}
                  for s in range(len(next(iter(r2.values()))))], hide_index=True, width="stretch")
    st.caption("Held-out R² of a linear (ridge) read-out of each coarse feature (columns), per residual stream.")

st.header("(c) The minimal edit that works, and where the logit change comes from")
e = findings.get("minimal_edit")
if e:
    st.markdown(f"**{e['sentence']}**")
    st.dataframe(sweep_table(e["sweep"]), hide_index=True)
    st.caption(sweep_caption(e["sweep"]))
    shares = e["component_share"]
    if shares:
        fig = go.Figure(go.Bar(x=list(shares), y=list(shares.values())))
        fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(tickformat=".0%"),
                          title=dict(text=f"share of the logit change carried by each later component "
                                          f"(direct effect: {e['direct_share']:.0%})", font=dict(size=13)))
        chart(fig, key="f_edit")
    st.caption(f"Regenerate: `{e['command']}` then `{findings.get('command', 'python -m othello_core findings')}`")
else:
    st.info("No edit sweep yet: `python -m othello_core edits sweep`, then regenerate the findings.")
paths = findings.get("edit_graphs")
if paths:
    st.markdown(f"**{paths['sentence']}**")
    shares = paths["summary"]["block_share"]
    fig = go.Figure(go.Bar(x=[block_label(b) for b in range(len(shares))], y=shares))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(tickformat=".0%", title="share"),
                      xaxis_title="block whose transcoder features and error nodes carry it",
                      title=dict(text="where the edit's change runs, per block (attribution before and after)",
                                 font=dict(size=13)))
    chart(fig, key="f_edit_graphs")
    st.caption(f"Regenerate: `{paths['command']}`, then `python -m othello_core findings --only 'edit graphs'`.")

st.header("(d) A small circuit: is this square empty?")
d = findings["empty_square"]
st.markdown(f"**{d['sentence']}**")
report = svc.probe_report
if report and "blank" in report.get("linear", {}):
    per_layer = [np.array(row["per_square"]) for row in report["linear"]["blank"]]
    titles = [f"{stream_label(l)} · {row['cell_accuracy']:.1%}"
              for l, row in enumerate(report["linear"]["blank"])]
    low = float(min(p.min() for p in per_layer))
    chart(board_grid_figure(per_layer, titles, zmin=low, zmax=1.0, colorscale="Viridis",
                            label="accuracy"), key="f_blank_squares")
    st.caption("How well the linear blank probe reads each square, per layer (held-out positions).")
sep = d["separation"]
order = sorted(sep, key=lambda n: -abs(sep[n]))[:16]
fig = go.Figure(go.Bar(x=order, y=[sep[n] for n in order],
                       marker_color=["#e53935" if n in d["top_components"] else "#90a4ae" for n in order]))
fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10),
                  title=dict(text=f"projection on the blank directions {stream_title(d['layer'])}, empty minus occupied "
                                  "(red: ablated)", font=dict(size=13)))
chart(fig, key="f_blank")
cols = st.columns(3)
cols[0].metric("blank probe, clean", f"{d['blank_accuracy']['clean']:.1%}")
cols[1].metric("ablate top components", f"{d['blank_accuracy']['ablate_top']:.1%}",
               delta=f"{d['blank_accuracy']['ablate_top'] - d['blank_accuracy']['clean']:+.1%}")
cols[2].metric("ablate random components", f"{d['blank_accuracy']['ablate_random']:.1%}",
               delta=f"{d['blank_accuracy']['ablate_random'] - d['blank_accuracy']['clean']:+.1%}")

st.header("(e) Head roles over many games")
h = findings["head_roles"]
st.markdown(f"**{h['sentence']}**")
chart(head_summary_figure(np.array(h["mover_share"])), key="f_heads")

st.header("(f) Where the board fades: the last moves")
late = findings.get("late_game")
if late:
    st.markdown(f"**{late['sentence']}**")
    chart(late_game_figure(late), key="f_late")
    st.caption(f"Probes trained on one move number each ({late['games']:,} random games; 80% of the games that "
               "reach the move train, the rest score), read at the stream where the shipped mine/theirs probe "
               "is best. About as many positions train each move's probe, so a drop is the stream's, not the data's.")
else:
    st.info("These findings predate the late-game check: regenerate them.")
st.header("(g) What the sparse autoencoder captures that the probes do not")
g = findings.get("sae")
if g:
    st.markdown(f"**{g['sentence']}**")
    chart(sae_vs_probe_figure(g["families"]), key="f_sae")
    st.caption(f"Per board-state property on {g['games']} held-out games: the SAE's best single feature "
               f"({g['d_sae']:,} features, the stream {stream_title(g['stream'])}) against the shipped linear probe "
               f"at that stream, both read as detectors; captured = F1 of at least {g['threshold']}. The black "
               "ticks: how many properties of each family occur often enough to score. The Features page shows "
               "each feature.")
else:
    st.info("No SAE finding yet: `python -m othello_core sae report`, then `python -m othello_core findings --only sae`.")
st.header("(h) Probes, neurons and SAE features on the same 128 properties")
h = findings.get("features_vs_probes")
if h:
    st.markdown(f"**{h['sentence']}**")
    st.dataframe([{"features": f"{r['name']} · {r['hook']}", "coverage": r["coverage"],
                   "board reconstruction": r["reconstruction"], "legal coverage": r["legal_coverage"],
                   "legal reconstruction": r["legal_reconstruction"]} for r in h["rows"]],
                 hide_index=True, key="f_features")
    st.caption("Karvonen et al.'s definitions (the Features page and the README spell them out); the probe is "
               "read as a detector (its argmax class) on the second half of the SAE report's held-out positions. "
               "Regenerate: `python -m othello_core sae karvonen`, then `python -m othello_core findings --only features`.")
else:
    st.info("No features finding yet: `python -m othello_core sae karvonen`, then "
            "`python -m othello_core findings --only features`.")
st.header("(i) Circuits at the feature level: attribution graphs over the transcoders")
i = findings.get("feature_circuits")
if i:
    st.markdown(f"**{i['sentence']}**")
    st.dataframe([{"kind (rule label)": k, "share of the top features": v} for k, v in i["summary"]["kind_share"].items()],
                 hide_index=True, key="f_circuit_kinds")
    st.caption(f"Regenerate: `{i['command']}`, then `python -m othello_core findings --only 'feature circuits'`. "
               "The Graph page draws any position's graph; its nodes carry the same labels.")
else:
    st.info("No feature-level circuit finding yet: `python -m othello_core graphs circuits`, then "
            "`python -m othello_core findings --only 'feature circuits'`.")
st.caption(f"Regenerate all of this page: `{findings.get('command', 'python -m othello_core findings')}` "
           f"({findings['wall_time_s']} s).")
common.reproduce_expander(findings_snippet(svc.name))
