"""Circuits: direct logit attribution, logit lens, neurons, head roles, activation patching."""

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app.charts import chart
from app import common, heavy
from app.figures import board_figure, board_grid_figure, dla_figure, head_summary_figure
from app.viewport import boards_in_row, viewport_size
from othello_core.analysis import attribution as A
from othello_core.analysis.attention import mover_share
from othello_core.reports.findings import NEURON_FILE
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import circuits_snippet
from othello_core.rules.games import random_games
from othello_core.rules.notation import MODEL_CONTEXT, format_moves, square_to_name
from othello_core.rules.hooks import stream_title

ss = st.session_state
st.title("Circuits")
svc = common.service()
analysis, position = common.analysed_position()
if position is None:
    st.info("Play or paste at least one move (up to 59) to attribute the model's prediction.")
    st.stop()
moves = analysis.moves


@st.cache_data(max_entries=64, show_spinner="Attributing…")
def dla(source: str, moves: tuple, position: int, square: int) -> dict:
    service = common.load_service(source)
    return A.direct_logit_attribution(service, A.components(service, moves, position), square)


@st.cache_data(max_entries=16, show_spinner=False)
def lens(source: str, moves: tuple) -> np.ndarray:
    service = common.load_service(source)
    return A.logit_lens(service, common.analyze(source, moves))


def patching(source: str, clean: tuple, corrupt: tuple) -> dict:
    """Activation patching, kept per (model, moves, corruption), off the click path (``app.heavy``): the
    position is the clean line's last move; a second core while no one else needs it."""
    service = common.load_service(source)
    return heavy.run("activation patching", (source, clean, corrupt),
                     lambda progress: A.activation_patching(service, clean, corrupt, progress=progress,
                                                            spare=service.spare_core()),
                     "Patching every layer at every move", expected_s=5.0)


@st.cache_resource(show_spinner=False)
def neuron_top(source: str):
    """(values, index, games) of the precomputed top activations, if they fit the live model."""
    service = common.load_service(source)
    path = service.folder / NEURON_FILE
    if not path.exists():
        return None
    data = np.load(path)
    if str(data["model_hash"]) != service.hash:
        return None
    return data["values"], data["index"], random_games(int(data["games"]), seed=int(data["seed"]), labels=True)


probs = analysis.move_probs[position]
order = [int(s) for s in np.argsort(-probs) if s not in (27, 28, 35, 36)]
common.take_setting("circuit_move", order)
square = st.selectbox("Output move to explain", order, key="circuit_move",
                      format_func=lambda s: f"{square_to_name(s)} · p={probs[s]:.3f} · "
                                            f"{'legal' if analysis.legal[position, s] else 'illegal'}")

def pick_neuron(layer: int, neuron: int) -> None:
    ss["neuron_layer"], ss["neuron_index"] = layer, neuron
    ss["circuits_tab"] = "Neuron explorer"


# Lazy tabs: only the open one runs (activation patching alone is a batched forward per layer and 4 positions).
TABS = ["Direct logit attribution", "Logit lens", "Neuron explorer", "Head roles", "Activation patching"]
common.take_setting("circuits_tab", TABS)
tab_dla, tab_lens, tab_neuron, tab_heads, tab_patch = st.tabs(TABS, key="circuits_tab", on_change="rerun")

snippet = dict(tab="dla")  # what the open tab computes, for the notebook snippet
if tab_dla.open:
    with tab_dla:
        result = dla(svc.name, moves, position, square)
        names, contrib = result["names"], result["contributions"]
        fig = dla_figure(names, contrib, square_to_name(square))
        chart(fig, key="dla_bars")
        total = contrib.sum() + result["bias"]
        st.caption(f"Contributions + unembedding bias = {total:.3f}; the model's logit = {result['logit']:.3f} "
                   "(exact with the final LayerNorm scale frozen at this run's value).")
        top = A.top_neurons(result["neurons"], k=12)
        st.markdown("**Top neurons** (contribution through their MLP's output weights):")
        cols = st.columns(6)
        for i, (layer, neuron, value) in enumerate(top):
            cols[i % 6].button(f"L{layer}N{neuron} {value:+.2f}", key=f"neuron_pick_{i}", on_click=pick_neuron,
                               args=(layer, neuron), help="open this neuron in the neuron explorer")

if tab_lens.open:
    snippet = dict(tab="lens")
    with tab_lens:
        lens_probs = lens(svc.name, moves)[:, position]  # [streams, 64]
        legal = analysis.legal[position]
        legal_mass = (lens_probs * legal).sum(-1)
        per_row, side = boards_in_row(viewport_size(), boards=3, largest=300, smallest=240)
        zmax = float(lens_probs.max())  # one colour scale: the streams compare
        for start in range(0, len(lens_probs), per_row):
            for col, s in zip(st.columns(per_row), range(start, min(start + per_row, len(lens_probs)))):
                title = f"{stream_title(s)}<br>{legal_mass[s]:.0%} on legal moves"
                chart(where=col, fig=board_figure(analysis.board[position], heat=lens_probs[s], legal=legal,
                                                  size=side, zmax=zmax, title=title, font=11),
                      key=f"lens_{s}", width="content")
        st.caption("Each stream read through the final LayerNorm and the unembedding, on one colour scale; rings: "
                   "the true legal moves.")

if tab_neuron.open:
    with tab_neuron:
        c1, c2 = st.columns(2)
        common.take_setting("neuron_layer", low=0, high=svc.n_layers - 1, like=0)
        common.take_setting("neuron_index", low=0, high=svc.model.cfg.d_mlp - 1, like=0)
        ss.setdefault("neuron_layer", 0)
        ss.setdefault("neuron_index", 0)
        layer = c1.number_input("Layer (block: L0 = blocks.0.mlp.hook_post)", 0, svc.n_layers - 1, key="neuron_layer")
        neuron = c2.number_input("Neuron", 0, svc.model.cfg.d_mlp - 1, key="neuron_index")
        snippet = dict(tab="neuron", layer=int(layer), neuron=int(neuron))
        profile = A.neuron_profile(svc, int(layer), int(neuron))
        st.markdown(f"**Hypothesis from the weights:** {A.neuron_hypothesis(profile)}")
        rules = (common.label_sets(svc.name).get("neurons") or {}).get(f"L{int(layer)}")
        if rules is not None:
            st.markdown(f"**Rule label** (depth-3 tree over the board, held-out R² {rules.r2[int(neuron)]:.2f}): "
                        f"{rules.rule(int(neuron))}; best single property {rules.best(int(neuron))}.")
        acts = A.neuron_activations(svc, moves, int(layer))[:, int(neuron)]
        fig = go.Figure(go.Scatter(x=[f"{i + 1}:{square_to_name(m)}" for i, m in enumerate(moves[:len(acts)])],
                                   y=acts, mode="lines+markers"))
        fig.add_vline(x=position, line=dict(color="black", dash="dot"))
        fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10),
                          title=dict(text="activation along this game", font=dict(size=12)))
        chart(fig, key="neuron_trace")
        panels, titles = [profile["promotes"]], ["output: promotes<br>(through W_U)"]
        if "reads_blank" in profile:  # two-line titles: three panels share the width, even at 1024 px
            panels = [profile["reads_blank"], profile["reads_mine"]] + panels
            titles = ["input: cos with<br>'blank'", "input: cos with<br>'mine − theirs'"] + titles
        bound = float(max(np.abs(p).max() for p in panels))
        chart(board_grid_figure(panels, titles, zmin=-bound, zmax=bound, label="weight", cols=3),
              key="neuron_boards")
        top = neuron_top(svc.name)
        if top is None:
            st.caption("Top-activating positions over a dataset: run `python -m othello_core findings` to precompute them.")
        else:
            values, index, games = top
            rows = index[int(layer), int(neuron)]
            per_row, side = boards_in_row(viewport_size(), boards=3, largest=280, smallest=240)
            found = list(zip(rows, values[int(layer), int(neuron)]))
            for start in range(0, len(found), per_row):
                for col, k in zip(st.columns(per_row), range(start, min(start + per_row, len(found)))):
                    (g, p), value = found[k]
                    chart(where=col, fig=board_figure(games.labels["board"][g, p], last_move=int(games.squares[g, p]),
                                                      size=side, title=f"{value:.2f} · game {g}, move {p + 1}", font=11),
                          key=f"neuron_top_{k}", width="content", config={"staticPlot": True})
            st.caption("Where this neuron fires most over the precomputed random games: the board after the move "
                       "(its activation above each).")

if tab_heads.open:
    snippet = dict(tab="heads")
    with tab_heads:

        findings_path = svc.folder / "findings.json"
        dataset = json.loads(findings_path.read_text()).get("head_roles") if findings_path.exists() else None
        h1, h2 = st.columns(2)
        if dataset:
            h1.markdown(f"**Over {dataset['games']} random games**")
            chart(where=h1, fig=head_summary_figure(np.array(dataset["mover_share"])), key="roles_dataset")
        else:
            h1.info("Dataset-wide head roles: run `python -m othello_core findings`.")
        h2.markdown("**This game**")
        chart(where=h2, fig=head_summary_figure(mover_share(analysis.patterns, analysis.to_move, moves)), key="roles")
        st.caption("Share of each head's attention on the moves of the player about to move, averaged over "
                   "positions (blue: the mover's own moves, red: the opponent's; 0.5 = no preference).")

if tab_patch.open:
    with tab_patch:
        top_move = max(1, min(len(moves), MODEL_CONTEXT))
        common.take_setting("patch_index", low=1, high=top_move, like=0)
        if "patch_index" not in ss:  # the middle of the game, or the nearest move that has a corruption
            middle = position // 2
            ss["patch_index"] = 1 + min((i for i in range(position + 1) if A.corrupt_one_move(moves[:position + 1], i)),
                                        key=lambda i: abs(i - middle), default=middle)
        ss["patch_index"] = min(ss["patch_index"], top_move)
        index = st.slider("Corrupt move number", 1, top_move, key="patch_index") - 1
        corrupt = A.corrupt_one_move(moves[:position + 1], index) if index <= position else None
        if corrupt is None:
            st.info("No other legal move at that point keeps the rest of the game legal: pick another move number.")
        else:
            st.caption(f"Clean: `{format_moves(moves[:position + 1], ' ')}` · corrupted move {index + 1}: "
                       f"{square_to_name(moves[index])} → {square_to_name(corrupt[index])}")
            snippet = dict(tab="patching", corrupt_index=index)
            try:
                patch = patching(svc.name, tuple(moves[:position + 1]), tuple(corrupt))
            except (heavy.Busy, heavy.StillRunning) as err:
                st.warning(str(err))
                patch = None
        if corrupt is not None and patch is not None:
            normalised = abs(patch["clean_metric"] - patch["corrupted_metric"]) > 1e-6
            values = patch["recovered" if normalised else "effects"]
            grids = [values[k] for k in ("resid_pre", "attn_out", "mlp_out")]
            bound = 1.0 if normalised else (max(float(np.abs(g).max()) for g in grids) or 1.0)
            what = "fraction of the clean−corrupted gap restored" if normalised else "change of the metric"
            # two-line titles: three panels share the width, and one-line ones ran into each other at 1024 px
            fig = make_subplots(rows=1, cols=3, subplot_titles=["stream into the layer<br>(hook_resid_pre)",
                                                                 "attention out<br>(hook_attn_out)",
                                                                 "MLP out<br>(hook_mlp_out)"])
            for i, grid in enumerate(grids):
                fig.add_trace(go.Heatmap(z=grid, zmin=-bound, zmax=bound, colorscale="RdBu", showscale=i == 0,
                                         colorbar=dict(title=dict(text="restored" if normalised else "Δ metric")),
                                         x=[f"{j + 1}" for j in range(grid.shape[1])],
                                         y=[f"L{l}" for l in range(grid.shape[0])],
                                         hovertemplate="%{y}, move %{x}: %{z:.2f}<extra></extra>"), row=1, col=i + 1)
            fig.update_yaxes(autorange="reversed")
            fig.update_yaxes(title_text="layer (block)", row=1, col=1)
            fig.update_xaxes(title_text="move patched")
            fig.update_layout(height=380, margin=dict(l=10, r=10, t=60, b=10))
            chart(fig, key="patching")
            st.caption(f"Metric: mean logit of moves legal only in the clean game minus those legal only in the "
                       f"corrupted one (clean {patch['clean_metric']:+.2f}, corrupted {patch['corrupted_metric']:+.2f}). "
                       f"Each cell: the {what} when layer L's activation (blocks.L.…) at that move is patched "
                       "from the clean run into the corrupted one" + (": 1 = the clean run's metric, 0 = the corrupted "
                       "run's." if normalised else " (the two runs' metrics are equal here: shown unnormalised)."))

common.reproduce_expander(circuits_snippet(moves, position, square, svc.name, **snippet),
                          tl_snippets.circuits_snippet(moves, position, square, svc.name, **snippet))
