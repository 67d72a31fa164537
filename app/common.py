"""Shared app plumbing: the cached model service, cached analyses, session state, sidebar."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from othello_core.board import Game, replay  # noqa: E402
from othello_core.notation import MODEL_CONTEXT, MoveError, format_moves  # noqa: E402

from app import state as S  # noqa: E402

MODEL_CHOICES = ("bundled", "synthetic", "championship")
DEFAULT_MODEL = os.environ.get("OTHELLO_EXPLORER_MODEL", "bundled")


@st.cache_resource(show_spinner="Loading the model and its probes…")
def load_service(source: str):
    """(service, error): loaded once per process; a failure is cached too (no retry storm)."""
    from othello_core.service import ModelService
    try:
        return ModelService.load(source), None
    except Exception as err:  # hub unreachable, bad path, ...
        return None, f"{type(err).__name__}: {err}"


@st.cache_data(max_entries=64, show_spinner=False)
def analyze(source: str, moves: tuple[int, ...]):
    service, _ = load_service(source)
    return service.analyze(moves)


@st.cache_data(max_entries=256, show_spinner=False)
def probe_position(source: str, moves: tuple[int, ...], position: int) -> dict:
    """Every probe's reconstruction of one position (cheap: one position, every layer)."""
    svc, _ = load_service(source)
    return svc.probe_position(analyze(source, moves), position)


def service():
    """The live service; falls back to the bundled model (and says so) when needed."""
    wanted = st.session_state.get("model", DEFAULT_MODEL)
    svc, error = load_service(wanted)
    if svc is None:
        st.session_state["model_error"] = (wanted, error)
        svc, _ = load_service("bundled")
    else:
        st.session_state.pop("model_error", None)
    return svc


def service_with_probes(missing: str):
    """The live service; without probes, a warning (``missing``, with ``{name}``) stops the page."""
    svc = service()
    if svc.probes is None:
        st.warning(f"{missing.format(name=svc.name)}: {svc.probe_error}")
        st.stop()
    return svc


def init_state() -> None:
    ss = st.session_state
    if "line" in ss:
        return
    params = dict(st.query_params)
    loaded = S.from_query(params)
    ss["line"], ss["cursor"] = loaded.line, loaded.cursor
    if loaded.error:
        ss["flash_error"] = f"The shared link's moves are not a legal game: {loaded.error}"
    ss["model"] = params.get("model", DEFAULT_MODEL)
    layer = params.get("layer")
    ss["layer"] = int(layer) if layer and layer.isdigit() else None
    ss["redo_hint"] = None


def sync_url() -> None:
    ss = st.session_state
    wanted = S.to_query(ss["line"], ss["cursor"], ss.get("model", DEFAULT_MODEL), ss.get("layer"))
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def game() -> Game:
    ss = st.session_state
    return replay(ss["line"][: ss["cursor"]])


def set_line(line: tuple[int, ...], cursor: int | None = None) -> None:
    st.session_state["line"] = tuple(line)
    st.session_state["cursor"] = len(line) if cursor is None else cursor


def play(square: int) -> MoveError | None:
    ss = st.session_state
    try:
        ss["line"], ss["cursor"] = S.play_move(ss["line"], ss["cursor"], square)
    except MoveError as err:
        return err
    return None


def current_analysis():
    """The analysis of the whole line (None before the first move)."""
    ss = st.session_state
    if not ss["line"]:
        return None
    return analyze(service().name, tuple(ss["line"]))


def analysed_position():
    """(analysis, position) of the shown position; position is None when the model makes no
    prediction there (no move yet, game over, or past its 59-move context)."""
    ss = st.session_state
    analysis = current_analysis()
    position = ss["cursor"] - 1
    if analysis is None or not 0 <= position < min(len(ss["line"]), MODEL_CONTEXT):
        return analysis, None
    return analysis, position


def board_arrays(board) -> tuple[np.ndarray, np.ndarray]:
    """A Board as plotly-ready arrays: cells [64] (0 empty, 1 black, 2 white), legal [64] bool."""
    cells = np.array([{1: 1, -1: 2, 0: 0}[board.cell(s)] for s in range(64)])
    legal_mask = board.legal_mask()
    return cells, np.array([bool(legal_mask >> s & 1) for s in range(64)])


def notation() -> str:
    return format_moves(st.session_state["line"][: st.session_state["cursor"]], sep=" ")
