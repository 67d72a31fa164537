"""The Graph page's cached plumbing: the graph engine (its own copy of the model, its own lock), the
transcoders and their labels, graphs kept per (model, moves, position, target) and computed off the click
path (``app.heavy``), and node edits through the locked ModelService."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import heavy
from app.common import MAX_MODELS, analyze, load_service

FEATURE_NODES = 500  # circuit-tracer's max_feature_nodes: the most influential active features it follows
EXPECTED_S = 20.0  # the first graph's progress bar, until one has been timed


@st.cache_resource(show_spinner="Loading circuit-tracer's replacement model and the transcoders…", max_entries=MAX_MODELS)
def engine(source: str):
    from othello_core.analysis.graphs.engine import GraphEngine
    return GraphEngine.load(source, load_service(source).folder)


def graph(source: str, moves: tuple[int, ...], position: int, target: int | None):
    """The graph of ``target``'s logit (None: the top move) after move ``position + 1``: kept, or computed off the
    click path with a progress bar (``app.heavy``: bounded heavy jobs per server, its own copy of the model)."""
    built = engine(source)
    return heavy.run("attribution graph", graph_key(source, moves, position, target),
                     lambda progress: built.graph(moves, position, target, FEATURE_NODES),
                     "Attributing with circuit-tracer", expected_s=EXPECTED_S)


def graph_key(source: str, moves: tuple[int, ...], position: int, target: int | None) -> tuple:
    return source, tuple(moves[:position + 1]), position, target


@st.cache_resource(max_entries=MAX_MODELS)
def transcoders(source: str) -> dict:
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.report import load_set
    svc = load_service(source)
    return load_set(transcoder_folder(svc.folder), svc.n_layers)


def labels(source: str) -> dict | None:
    """The transcoder features' rule labels (``labels fit``), by layer (``L0`` ..), or None."""
    from app.common import label_sets
    return label_sets(source)["transcoders"]


def has_transcoders(source: str) -> bool:
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    return (transcoder_folder(load_service(source).folder) / "config.yaml").exists()


@st.cache_data(max_entries=128, show_spinner="Running the model with the node edits…")
def edited_probs(source: str, moves: tuple[int, ...], position: int, edits: tuple) -> np.ndarray:
    """P(next move) ``[64]`` at ``position`` with the node edits (``NodeEdit`` tuples), under the service's lock."""
    from othello_core.analysis.graphs.intervene import edited_probs as run
    return run(load_service(source), transcoders(source), moves, position, list(edits))


@st.cache_data(max_entries=64, show_spinner=False)
def feature_along_game(source: str, moves: tuple[int, ...], layer: int) -> np.ndarray:
    from othello_core.analysis.graphs.intervene import feature_activation
    return feature_activation(load_service(source), transcoders(source), moves, layer)


@st.cache_data(max_entries=256, show_spinner=False)
def feature_logit_effect(source: str, layer: int, feature: int) -> np.ndarray:
    from othello_core.analysis.graphs.intervene import direct_logit_effect
    svc = load_service(source)
    with svc.locked() as model:
        return direct_logit_effect(transcoders(source), model, layer, feature)


@st.cache_data(max_entries=16, show_spinner="Reading the layer's features on held-out games…")
def held_out_activations(source: str, layer: int, games: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(activations [rows, features], pick [rows, 2], squares [games, 60])`` of one layer's transcoder on
    fresh held-out games (the labels' test games)."""
    import torch

    from othello_core.analysis.activation_store import real_positions
    from othello_core.analysis.sae.training import collect_stream
    from othello_core.analysis.labels import LABEL_TEST_SEED
    from othello_core.rules.games import random_games
    from othello_core.rules.hooks import mlp_in
    batch = random_games(games, seed=LABEL_TEST_SEED)
    svc = load_service(source)
    with svc.locked() as model, torch.no_grad():
        x = collect_stream(model, batch.squares, batch.lengths, mlp_in(layer), layer + 1, 60, dtype=torch.float32)
        acts = transcoders(source)[layer].encode(x).numpy()
    return acts, real_positions(batch), batch.squares


def clean_probs(source: str, moves: tuple[int, ...], position: int) -> np.ndarray:
    return analyze(source, moves).move_probs[position]
