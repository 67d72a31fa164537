"""Features: the sparse autoencoder's features at the current position, one feature's card, and
steering it live (ablate, or add its decoder direction) with before/after predictions."""

import numpy as np
import streamlit as st

from othello_core.analysis.sae.features import (
    STEER_MODES, active_features, feature_row, probe_cosines, top_position_boards,
)
from othello_core.analysis.sae.karvonen import table_rows as karvonen_rows
from othello_core.analysis.sae.report import metric_rows
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import features_snippet
from othello_core.rules.notation import square_to_name
from othello_core.rules.hooks import stream_label
from othello_core.rules.user_input import escape_markdown, shown
from app.charts import chart
from app import common
from app.figures import (board_figure, family_f1_figure, feature_activation_figure, signed_board_figure)

ss = st.session_state
st.title("Features")
svc = common.service()
features, missing = common.feature_set(svc.name)
if features is None:
    st.info(f"No sparse autoencoder for **{shown(svc.name, 60)}**: {escape_markdown(missing)}")
    st.stop()

report, control = features.report, features.control_report
st.caption(f"A {report['training']['recipe']['architecture']} SAE with {features.d_sae:,} features on "
           f"`{features.hook}` (the residual stream {stream_label(features.stream)}), trained with SAELens on "
           f"{report['training']['tokens']:,} positions of fresh synthetic games. Measured on "
           f"{report['games']['positions']:,} positions of {report['games']['n']} held-out games.")

analysis, position = common.analysed_position()
if position is None:
    st.info("Play or paste a game (Play page or sidebar): the features of the current position show here.")
    st.stop()

moves = tuple(ss["line"])
acts = common.feature_acts(svc.name, moves)  # [pos, d_sae]
ranked = active_features(acts[position], k=15)

left, right = st.columns([2, 3], gap="large")
with left:
    chart(board_figure(analysis.board[position], legal=analysis.legal[position],
                       last_move=moves[position], flipped=analysis.flipped[position], size=360,
                       title=f"After move {position + 1}: {square_to_name(moves[position])}"),
          key=f"features_board_{position}", width="content")
with right:
    st.markdown(f"**{len(ranked)} strongest of {int((acts[position] > 0).sum())} active features** · "
                "pick a row for its card")
    table = [feature_row(features, f, a) for f, a in ranked]
    picked = st.dataframe(table, hide_index=True, key=f"active_features_{position}", on_select="rerun",
                          selection_mode="single-row")
    rows = picked.selection.rows if picked else []
    if rows and rows[0] < len(ranked) and ss.get("feature_row") != (position, rows[0]):  # a row just picked
        ss["feature_row"] = (position, rows[0])
        ss["feature"] = ranked[rows[0]][0]
# the chosen feature stays chosen as the game steps; a link or another page (the square search) can name one
common.take_setting("feature", low=0, high=features.d_sae - 1, like=0)
if "feature_pick" in ss:
    ss["feature"] = ss.pop("feature_pick")
if "feature" not in ss:
    ss["feature"] = ranked[0][0] if ranked else 0
feature = int(st.number_input("Feature", 0, features.d_sae - 1, key="feature",
                              help="any feature by number; the table picks one of the active ones"))

st.subheader(f"Feature {feature}")
st.markdown(features.describe(feature))
rules = (common.label_sets(svc.name).get("sae") or {}).get("sae")
if rules is not None and feature < len(rules.r2):
    st.markdown(f"**Rule label** (depth-3 tree over the board, held-out R² {rules.r2[feature]:.2f}): "
                f"{rules.rule(feature)}.")
chart(feature_activation_figure(acts[:, feature], position, "activation along this game"),
      key="feature_along_game")

# Lazy tabs: only the open one runs and draws (steering is the live view; the rest on demand).
TABS = ["Steer it", "Where it fires", "Directions", "How good is the SAE"]
common.take_setting("features_tab", TABS)
tab_steer, tab_where, tab_directions, tab_quality = st.tabs(TABS, key="features_tab", on_change="rerun")
if tab_steer.open:
    with tab_steer:
        s1, s2, s3 = st.columns(3)
        common.take_setting("steer_mode", STEER_MODES)
        common.take_setting("steer_scale", low=-2.0, high=2.0, like=0.0)
        common.take_setting("steer_everywhere", like=False)
        ss.setdefault("steer_mode", "ablate")
        ss.setdefault("steer_scale", 0.5)
        ss.setdefault("steer_everywhere", False)
        mode = s1.segmented_control("Edit", STEER_MODES, key="steer_mode") or "ablate"
        scale = s2.slider("Scale (× the stream's norm there)", -2.0, 2.0, step=0.05, key="steer_scale",
                          disabled=mode == "ablate")
        everywhere = s3.toggle("At every position", key="steer_everywhere")
        after = common.steered_probs(svc.name, moves, position, feature, mode, float(scale), everywhere)
        before = analysis.move_probs[position]
        legal = analysis.legal[position]
        b1, b2 = st.columns(2)
        for column, probs, name in ((b1, before, "before"), (b2, after, "after")):
            best = int(probs.argmax())
            chart(where=column, fig=board_figure(analysis.board[position], heat=probs, legal=legal, size=360,
                                                 title=f"{name}: top-1 {square_to_name(best)} ({'legal' if legal[best] else 'ILLEGAL'}) "
                                                       f"· {probs[legal].sum():.1%} on legal moves"),
                  key=f"steer_{name}", width="content")
        common.reproduce_expander(
            features_snippet(moves, position, feature, mode, float(scale), everywhere, svc.name),
            tl_snippets.features_snippet(moves, position, feature, mode, float(scale), everywhere, svc.name))
        st.caption("Rings: the true legal moves. Ablate removes the feature's own contribution (its activation × its "
                   "decoder direction); add puts in scale × the stream's norm at that position along the decoder direction. "
                   "Edits run under the model service's lock: no other session sees them.")

if tab_where.open:
    with tab_where:
        boards = top_position_boards(features, feature)[:4]
        if boards:
            st.markdown("**Where it fires most** (held-out games)")
            for rank, (column, top) in enumerate(zip(st.columns(len(boards)), boards)):
                chart(where=column, fig=board_figure(top["cells"], last_move=top["last_move"], size=220,
                                                     title=f"{top['activation']:.2f} · move {top['position'] + 1}"),
                      key=f"feature_top_{rank}", width="content",
                      config={"staticPlot": True})

if tab_directions.open:
    with tab_directions:
        c1, c2 = st.columns(2)
        if svc.probes is not None and "mine_theirs" in svc.probes.linear:
            cos = probe_cosines(features, svc.probes, feature)
            chart(where=c1, fig=signed_board_figure([cos[:, 0], cos[:, 1], cos[:, 2]], ["empty", "mine", "theirs"], "cosine"),
                  key="feature_probe_cosines")
            c1.caption(f"Cosine of the decoder direction with the linear mine/theirs probe's class directions at the same "
                       f"stream. Largest: {square_to_name(int(np.abs(cos).max(1).argmax()))}.")
        effect = common.feature_logit_effect(svc.name, feature)
        chart(where=c2, fig=signed_board_figure([effect], ["logit effect"], "logit"), key="feature_logit_effect")
        c2.caption("The decoder direction read straight through the unembedding (centred over the moves): what the "
                   "direction alone pushes each move's logit by, before the last two layers respond.")


if tab_quality.open:
    with tab_quality:
        st.dataframe(metric_rows(report, control), hide_index=True, key="sae_metrics")
        chart(family_f1_figure(report["families"], control and control["families"]), key="sae_families")
        st.caption("Coverage and reconstruction in this table are this project's variant (empty, mine and theirs "
                   "squares; features chosen and scored on halves of the same positions): not comparable with the "
                   "published figures. Regenerate: `python -m othello_core sae report` (add `--control` for the control).")
        if features.karvonen is not None:
            st.markdown("**Karvonen et al.'s definitions** (comparable with their published figures)")
            st.dataframe(karvonen_rows(features.karvonen), hide_index=True, key="sae_karvonen")
            k = features.karvonen
            st.caption(f"128 properties: each square mine or theirs relative to the player to move (empty dropped); "
                       f"legal moves scored apart. A feature fires above t × its largest activation on the fitting "
                       f"games (t = 0, 0.1 … 0.9). Coverage: mean over properties of the best single feature's F1 at "
                       f"the best t, on {k['games']['fitting']:,} fitting games. Board reconstruction: features with "
                       f"precision ≥ 0.95 and ≥ 10 firings on the fitting games are labelled; a property is predicted "
                       f"on {k['games']['held_out']:,} held-out games wherever a labelled feature fires; micro F1 at "
                       "the best t. Published: SAE_BoardGameEval's saved results (300M training tokens; their SAEs "
                       "read blocks.5.hook_resid_post, as ours). Regenerate: `python -m othello_core sae karvonen`.")

