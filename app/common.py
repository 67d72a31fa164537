"""Shared app plumbing: the cached model service, cached analyses, session state, sidebar."""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from othello_core.model.sources import SourcePolicy, resolve_source
from othello_core.model.weights import ModelLoadError
from othello_core.rules.board import Game, replay
from othello_core.rules.notation import MODEL_CONTEXT, MoveError, format_moves
from othello_core.rules.user_input import InputError, escape_markdown, excerpt, parse_int, shown
from othello_core.rules.vocab import colour_classes

from app import edit_state, graph_state, page_state, search_state, view_state
from app import state as S
from app.threads import TORCH_THREADS
from app import tour as T

MODEL_CHOICES = ("bundled", "synthetic", "championship")
DEFAULT_MODEL = os.environ.get("OTHELLO_EXPLORER_MODEL", "bundled")


MAX_MODELS = int(os.environ.get("OTHELLO_MAX_MODELS", "3"))  # loaded models kept per server process
_FAILED: "OrderedDict[str, str]" = OrderedDict()  # recent failed loads: source -> short message
_FAILED_LOCK = threading.Lock()


@st.cache_resource(show_spinner="Loading the model and its probes…", max_entries=MAX_MODELS)
def load_service(source: str):
    """The service of a resolved source, loaded once per process (at most ``MAX_MODELS`` kept). A
    failure raises, so it is never cached as a model."""
    import torch

    from othello_core.analysis.service import ModelService  # here: torch loads on the first page that needs a model, not at import
    torch.set_num_threads(TORCH_THREADS)
    service = ModelService.load(source)
    gc.collect()
    gc.freeze()  # the libraries and weights just loaded stay for the process: keep them out of every later collection
    return service


def source_policy() -> SourcePolicy:
    return SourcePolicy.from_env(address=str(st.get_option("server.address") or "127.0.0.1"))


def try_service(wanted: str):
    """(service, None) or (None, message) for a source a visitor asked for. The message names the
    source and the reason, never a file's contents; recent failures are remembered (bounded) so a
    page rerun does not retry a slow failing load."""
    try:
        key = resolve_source(wanted, source_policy())
    except ModelLoadError as err:
        return None, str(err)
    with _FAILED_LOCK:
        if key in _FAILED:
            return None, _FAILED[key]
    try:
        return load_service(key), None
    except ModelLoadError as err:
        message = excerpt(str(err), 400)
    except Exception as err:  # noqa: BLE001 - the page must fall back, and say so
        message = f"loading failed ({type(err).__name__})"
    with _FAILED_LOCK:
        _FAILED[key] = message
        while len(_FAILED) > 32:
            _FAILED.popitem(last=False)
    return None, message


@st.cache_data(max_entries=64, show_spinner=False)
def analyze(source: str, moves: tuple[int, ...]):
    return load_service(source).analyze(moves)


@st.cache_data(max_entries=256, show_spinner=False)
def probe_position(source: str, moves: tuple[int, ...], position: int) -> dict:
    """Every probe's reconstruction of one position (cheap: one position, every layer)."""
    return load_service(source).probe_position(analyze(source, moves), position)


def service():
    """The live service. A source that cannot be loaded falls back to the bundled model: the session's model
    (so the selector and the link) becomes ``bundled`` and ``model_error`` keeps what failed and why until
    another source is chosen."""
    ss = st.session_state
    wanted = ss.get("model", DEFAULT_MODEL)
    svc, error = try_service(wanted)
    if svc is None:
        ss["model_error"] = (wanted, error)
        ss["model"] = "bundled"
        return load_service("bundled")
    if wanted != "bundled":
        ss.pop("model_error", None)
    return svc


def service_with_probes(missing: str):
    """The live service; without probes, a warning (``missing``, with ``{name}``) stops the page."""
    svc = service()
    if svc.probes is None:
        st.warning(f"{missing.format(name=shown(svc.name, 60))}: {escape_markdown(excerpt(svc.probe_error or '', 400))}")
        st.stop()
    return svc


def init_state() -> None:
    ss = st.session_state
    if "line" in ss:
        return
    params = dict(st.query_params)
    ss["model"] = str(params.get("model", DEFAULT_MODEL))[:1000]
    ss["redo_hint"] = None
    apply_query(params)
    if params.get("tour"):
        open_tour(params, apply_slide="moves" not in params)


def apply_query(params: dict) -> None:
    """Set the game, position, layer, edit and Present view a link (or a slide) names; what it got
    wrong is flashed on the next page drawn."""
    ss = st.session_state
    loaded = S.from_query(params)
    ss["line"], ss["cursor"] = loaded.line, loaded.cursor
    ss["layer"] = loaded.layer
    edit, edit_notes = edit_state.from_query(params)
    view, view_notes = view_state.from_query(params)
    graph, graph_notes = graph_state.from_query(params)
    search, search_notes = search_state.from_query(params)
    ss["edit"], ss["view"], ss["graph"], ss["search"] = edit, view, graph, search
    ss["pending_page"] = page_state.pending_from_query(params)
    notes = loaded.notes + edit_notes + view_notes + graph_notes + search_notes
    if loaded.error:
        err = loaded.error
        ss["flash_error"] = (f"The shared link's moves are not a legal game: move {err.index + 1} "
                             f"(“{shown(err.move)}”): {escape_markdown(err.detail)}")
    elif notes:
        ss["flash_error"] = escape_markdown("The shared link was read in part: " + "; ".join(notes) + ".")


def open_tour(params: dict, apply_slide: bool) -> None:
    """Open the shipped tour ``?tour=NAME`` at ``?slide=N`` (1-based)."""
    ss = st.session_state
    try:
        opened = T.shipped(str(params["tour"])[:100])
    except T.TourError as err:
        ss["flash_error"] = escape_markdown(str(err))
        return
    try:
        index = parse_int(params.get("slide", 1), "the link's slide", 1, max(1, len(opened.slides))) - 1
    except InputError as err:
        ss["flash_error"] = escape_markdown(f"{err}; showing the first slide")
        index = 0
    ss["tour"], ss["tour_shipped"], ss["touring"] = opened, opened.name, True
    go_to_slide(index, apply=apply_slide)


def go_to_slide(index: int, apply: bool = True) -> None:
    ss = st.session_state
    tour = ss.get("tour")
    if not tour or not tour.slides:
        return
    ss["slide"] = max(0, min(len(tour.slides) - 1, index))
    if apply:
        apply_query(tour.slides[ss["slide"]].params())


def take_setting(key: str, options=None, low=None, high=None, like=None) -> None:
    """Hand a page widget the value its link named (``page_state``), once, if it is one of ``options`` (or, for
    a number or switch, of ``like``'s type within ``low``..``high``); a value that is not is dropped and said."""
    ss = st.session_state
    pending = ss.get("pending_page") or {}
    if key not in pending:
        return
    raw = pending.pop(key)
    try:
        if options is not None:
            value = next((o for o in options if str(o) == raw), None)
            if value is None:
                raise ValueError(f"not one of the choices here")
        else:
            value = page_state.parse_as(raw, like)
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"outside {low}..{high}")
        ss[key] = value
    except ValueError as err:
        st.warning(escape_markdown(f"The link's {key.replace('_', ' ')} {raw[:30]!r} was not used: {err}."))


def query_state(url_path: str | None = None) -> dict[str, str]:
    """The URL parameters of the current state (game, position, model, layer, edit, view, tour, and the page
    ``url_path``'s own widget choices)."""
    ss = st.session_state
    wanted = S.to_query(ss["line"], ss["cursor"], ss.get("model", DEFAULT_MODEL), ss.get("layer"))
    wanted.update(edit_state.to_query(ss.get("edit")))
    wanted.update(view_state.to_query(ss.get("view")))
    wanted.update(graph_state.to_query(ss.get("graph")))
    wanted.update(search_state.to_query(ss.get("search")))
    if url_path is not None:
        keys = page_state.PAGE_SETTINGS.get(url_path, {}).values()
        wanted.update(page_state.to_query(url_path, {k: ss.get(k) for k in keys}))
    if ss.get("touring") and ss.get("tour_shipped"):
        wanted.update(tour=ss["tour_shipped"], slide=str(ss.get("slide", 0) + 1))
    return wanted


def sync_url(url_path: str | None = None) -> None:
    wanted = query_state(url_path)
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
    cells = colour_classes([board.cell(s) for s in range(64)])
    legal_mask = board.legal_mask()
    return cells, np.array([bool(legal_mask >> s & 1) for s in range(64)])


def notation() -> str:
    return format_moves(st.session_state["line"][: st.session_state["cursor"]], sep=" ")


@st.cache_resource(show_spinner="Loading the sparse autoencoder…", max_entries=MAX_MODELS)
def _feature_set(source: str):
    from othello_core.analysis.sae.features import load_feature_set  # here: SAELens loads only on the Features page
    service = load_service(source)
    return load_feature_set(service.folder, device=service.device)


def feature_set(source: str):
    """(the SAE shipped beside the model, None) or (None, what is missing and the command that makes it)."""
    try:
        return _feature_set(source), None
    except (FileNotFoundError, ImportError) as err:
        return None, str(err)


@st.cache_data(max_entries=64, show_spinner=False)
def feature_acts(source: str, moves: tuple[int, ...]) -> np.ndarray:
    """``[pos, d_sae]`` SAE activations along the game (from the analysis's stream: no extra forward)."""
    from othello_core.analysis.sae.features import encode
    features = _feature_set(source)
    return encode(features, analyze(source, moves).resid[features.stream])


@st.cache_data(max_entries=128, show_spinner="Steering…")
def steered_probs(source: str, moves: tuple[int, ...], position: int, feature: int, mode: str, scale: float,
                  everywhere: bool) -> np.ndarray:
    """P(next move) ``[64]`` with one feature steered, through the service's lock (hooks never leak)."""
    from othello_core.analysis.sae.features import steered_probs as run
    return run(load_service(source), _feature_set(source), moves, position, feature, mode, scale, everywhere)


@st.cache_data(max_entries=256, show_spinner=False)
def feature_logit_effect(source: str, feature: int) -> np.ndarray:
    """``[64]`` the feature's decoder direction through the unembedding (read under the service's lock)."""
    from othello_core.analysis.sae.features import direct_logit_effect
    service = load_service(source)
    with service.locked() as model:
        return direct_logit_effect(_feature_set(source), model, feature)


def reproduce_expander(code: str, tl_code: str | None = None) -> None:
    """The "Reproduce in a notebook" expander: the few lines of ``othello_core`` (from
    ``othello_core.reports.snippets``) that compute what the page shows, and beside them the same numbers in
    TransformerLens terms (``othello_core.reports.tl_snippets``) where the page runs the model; both end in
    ``result``. Its contents are drawn only while it is open (opening it reruns the page, or the fragment it is
    in), since every element drawn costs the browser time on every click."""
    box = st.expander("Reproduce in a notebook", icon=":material/code:", key="reproduce", on_change="rerun")
    if not box.open:  # drawn when opened: the code blocks are not re-sent and re-rendered with every click
        return
    with box:
        if tl_code is None:
            st.code(code, language="python")
        else:
            core, tl = st.tabs(["othello_core", "TransformerLens"])
            core.code(code, language="python")
            tl.code(tl_code, language="python")
        st.caption("Runs in any notebook after `pip install -e .`; `result` holds the numbers this page draws.")


@st.cache_resource(max_entries=MAX_MODELS)
def label_sets(source: str) -> dict:
    """The rule labels shipped beside the model (``labels fit``): ``{kind: {set: UnitLabels} or None}``."""
    from othello_core.analysis.labels import shipped_labels
    return shipped_labels(load_service(source).folder)
