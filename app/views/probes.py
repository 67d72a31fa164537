"""Probes: the board read back out of the residual stream, layer by layer."""

import numpy as np
import streamlit as st

from othello_core.analysis.probe_suite import compare_records, compare_table
from othello_core.analysis.probes import CLASS_NAMES, PUBLISHED_SPAN, mean_by_move, report_rows, span_curve
from othello_core.reports.evaluation import MOVE_SPANS
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import probes_snippet
from othello_core.rules.hooks import stream_label, stream_title
from app.charts import chart
from app import common
from app.figures import (accuracy_figure, accuracy_metric_label, probe_by_move_figure, probe_grid_figure,
                                probe_history_figure, reproduction_figure)

ss = st.session_state


def probe_label(probe: tuple) -> str:
    method, kind, width = probe
    return f"{'linear' if method == 'linear' else f'MLP-{width}'} {kind.replace('_', '/')}"


st.title("Probes")
svc = common.service_with_probes("No probes for **{name}**")

report = svc.probe_report
if report:
    stream_names = [stream_label(s) for s in range(len(report["layer_names"]))]
    st.subheader("How well each probe reads the board, per layer")
    metrics = ["cell_accuracy", "board_accuracy"]
    if span_curve(report)[0] is not None:
        metrics.insert(1, "span_accuracy")
    common.take_setting("probe_metric", metrics)
    metric = st.radio("Metric", metrics, horizontal=True, format_func=accuracy_metric_label, key="probe_metric")
    chart(accuracy_figure(report, metric), key="accuracy_curves")
    st.caption(
        "Linear mine/theirs (blue) vs linear black/white (red) vs MLP probes (dashed). "
        "If the model stores the board relative to the player to move, a linear probe reads it "
        "in the mine/theirs basis, while the colour basis needs a nonlinearity: "
        "colour = mine/theirs XOR whose turn it is. "
        "Moves {}–{} are the positions Nanda's and ARENA's probe code trains and scores on: the figure to "
        "set beside theirs. The Findings page (f) shows what the stream holds after them. ".format(*PUBLISHED_SPAN) +
        f"Held-out {report['samples']['test']:,} positions; "
        f"command: `{report.get('command', 'python -m othello_core probes train')}`")

    table = compare_table(report)
    if table:
        st.subheader("Beside the published figures")
        st.dataframe(compare_records(table), hide_index=True, key="reproduction_table")
        chosen_row = st.selectbox("Comparison", table, format_func=lambda r: r["label"], key="reproduction_row")
        chart(reproduction_figure(chosen_row), key="reproduction_chart")
        st.caption(f"Protocol of this row: {chosen_row['protocol']}. Regenerate the table: "
                   "`python -m othello_core probes report --compare`.")
    control = report.get("control")
    if control:
        st.caption(f"Dotted thin lines: the random-init control, a model of the same shape initialised from seed "
                   f"{control['seed']} (weights hash {control['weights_hash']}, recreated with "
                   f"`{control['recreate']}`), probed the same way.")

    if report["linear"]["mine_theirs"][0].get("history"):
        st.subheader("How each probe converged")
        fitted = [("linear", k, None) for k in report["linear"]] + \
            [("mlp", k, int(w)) for k in report["mlp"] for w in report["mlp"][k]]
        chosen_fit = st.selectbox("Probe", fitted, format_func=probe_label, key="history_probe")
        chart(probe_history_figure(report_rows(report, *chosen_fit), stream_names,
                                   probe_label(chosen_fit)), key="probe_history")
        st.caption("Held-out (solid) and training (dotted) accuracy after each epoch. "
                   f"{report.get('protocol', {}).get('ours', '')}.")

    if "by_move" in report["linear"]["mine_theirs"][0]:
        st.subheader("Where in the game the board can be read")
        probes_by_move = [("linear", k, None) for k in report["linear"]] + \
            [("mlp", k, int(w)) for k in report["mlp"] for w in report["mlp"][k]]
        label = probe_label
        chosen = st.selectbox("Probe", probes_by_move, format_func=label, key="by_move_probe")
        rows = report_rows(report, *chosen)
        chart(probe_by_move_figure(rows, stream_names, label(chosen)), key="probe_by_move")
        best = max(range(len(rows)), key=lambda l: rows[l]["cell_accuracy"])
        (a, b), (c, d) = MOVE_SPANS[0], MOVE_SPANS[-1]
        st.caption(f"Cell accuracy of the {label(chosen)} probe by move number (held-out positions). "
                   f"At its best layer ({stream_names[best]}) it reads "
                   f"{mean_by_move(rows[best], a, b):.1%} of cells after moves {a}–{b} and "
                   f"{mean_by_move(rows[best], c, d):.1%} after moves {c}–{d} (means over move numbers).")

st.subheader("This position, every layer")
analysis, position = common.analysed_position()
if position is None:
    st.info("Play or paste at least one move (up to 59) to see the probes read this position.")
    st.stop()

c1, c2, c3 = st.columns(3)
kinds = ["mine_theirs", "black_white", "blank", "flipped", "legal"]
common.take_setting("probe_kind", kinds)
kind = c1.selectbox("Probe", kinds, format_func=lambda k: k.replace("_", "/"), key="probe_kind")
methods = ["linear"] + [f"MLP-{w}" for (k, w) in sorted(svc.probes.mlp) if k == kind]
common.take_setting("probe_method", methods)
method = c2.selectbox("Probe type", methods, key="probe_method")
names = CLASS_NAMES[kind]
classes = list(range(1, len(names))) + [0]
common.take_setting("probe_class", classes)
cls = c3.selectbox("Show P(class)", classes, format_func=lambda i: names[i], key="probe_class")

key = ("linear", kind, 0) if method == "linear" else ("mlp", kind, int(method.split("-")[1]))
probs = common.probe_position(svc.name, analysis.moves, position)[key]  # [layers, 64, C]
truth_all = analysis.truth(kind)[position]
truth = (truth_all == cls).astype(float)
wrong = (probs.argmax(-1) != truth_all).sum(-1)
names_per_layer = [f"{stream_label(s)} · {w} wrong" for s, w in enumerate(wrong)]
chart(probe_grid_figure(probs, names_per_layer, cls, names[cls], truth=truth),
      key="probe_grid")
best = int(np.argmin(wrong))
st.caption(f"Squares the {method} {kind.replace('_', '/')} probe gets wrong at each layer "
           f"(argmax vs truth): fewest {stream_title(best)} ({wrong[best]}). Layers are TransformerLens blocks "
           "L0–L7; *after L5* is the stream block 5 writes, *embed* the one before any block.")
common.reproduce_expander(probes_snippet(analysis.moves, position, kind, key[0], key[2], cls, svc.name),
                          tl_snippets.probes_snippet(analysis.moves, position, kind, key[0], key[2], cls, svc.name))
