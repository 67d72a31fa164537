"""The live edit on screen: its controls (bound to the shared ``EditSpec``), the clickable "board as
edited", the on/off button (key E) and the cached edited run. Used by Interventions and Present.

Widgets are seeded from the spec on every run and write back through ``on_change``, so the spec in
``st.session_state["edit"]`` (and the URL) is the one source of truth, whichever page drew them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import common
from app import edit_state as E
from othello_core.analysis.interventions import Edit, apply_edit, edited_classes
from othello_core.rules.notation import square_to_name
from app.live_board import board_data, live_board, player_code, toggle_data
from othello_core.rules.vocab import relative_to_colour, stream_title

ss = st.session_state
TOGGLE_KEY = "E"  # keyboard shortcut of the on/off button


def current() -> E.EditSpec:
    return ss.get("edit") or E.DEFAULT


def store(spec: E.EditSpec) -> None:
    ss["edit"] = spec


@st.cache_data(max_entries=64, show_spinner="Running the edited model…")
def edited(source: str, moves: tuple, position: int, edit_fields: tuple):
    service = common.load_service(source)
    clean = common.analyze(source, moves).move_probs[position]  # cached: saves the clean forward
    return apply_edit(service, moves, position, Edit(**dict(edit_fields)), clean_probs=clean)


def run(source: str, moves: tuple, position: int, edit: Edit):
    return edited(source, moves, position, tuple(sorted(edit.__dict__.items())))


def _bound(widget, key: str, field: str, value, to_spec=lambda v: v, **kwargs):
    """A widget showing ``value`` whose changes are written into the spec's ``field``."""
    ss[key] = value
    return widget(key=key, on_change=lambda: store(current().with_(**{field: to_spec(ss[key])})), **kwargs)


def controls(relative: np.ndarray, n_layers: int) -> None:
    """Squares, target, layers, method, positions and strength of the edit."""
    spec = current()
    if spec.squares is None:  # the first editable square, offered: chosen from now on (and in the link)
        store(spec := spec.with_(squares=E.chosen_squares(spec, relative)))
    c1, c2, c3 = st.columns([2, 1, 1])
    _bound(c2.selectbox, "edit_target", "target", spec.target, label="Make the squares", options=list(E.TARGETS),
           format_func={"flip": "flip mine↔theirs", "blank": "blank", "mine": "mine", "theirs": "theirs"}.get)
    chosen = E.chosen_squares(spec, relative)
    _bound(c1.multiselect, "edit_squares", "squares", list(chosen), lambda v: tuple(sorted(v)),
           label="Squares (or click them on the board as edited)", options=E.editable(relative, spec.target),
           format_func=square_to_name)
    with c3:
        toggle_button()
    c4, c5, c6 = st.columns([2, 1, 1])
    _bound(c4.multiselect, "edit_layers", "layers", [l for l in spec.layers if l <= n_layers],
           lambda v: tuple(sorted(v)), label="Edit the residual stream", options=list(range(1, n_layers + 1)),
           format_func=stream_title)
    _bound(c5.selectbox, "edit_method", "method", spec.method, label="Method", options=list(E.METHODS),
           help="add: x += scale·|x|·d; set: coordinate along d := scale·|x|; "
                "gradient: optimise x so the MLP probe reads the edited board (Li et al.)")
    _bound(c6.radio, "edit_positions", "positions", spec.positions, label="Positions", options=list(E.POSITIONS),
           horizontal=True)
    if spec.method == "gradient":
        g1, g2, g3 = st.columns(3)
        _bound(g1.slider, "edit_steps", "steps", spec.steps, label="steps", min_value=5, max_value=100)
        _bound(g2.select_slider, "edit_lr", "lr", spec.lr, label="lr", options=[0.01, 0.03, 0.1, 0.3, 1.0])
        _bound(g3.select_slider, "edit_reg", "reg", spec.reg, label="regulariser",
               options=[0.0, 0.001, 0.01, 0.1, 1.0])
    else:
        _bound(st.slider, "edit_scale", "scale", spec.scale, label="scale (fraction of the residual norm)",
               min_value=E.SCALES[0], max_value=E.SCALES[1], step=0.05)


def toggle_button() -> None:
    """The live on/off switch; the E key presses it (Streamlit's own button shortcut)."""
    on = current().on
    st.button(f"Edit {'on' if on else 'off'}", key="edit_toggle", shortcut=TOGGLE_KEY,
              icon=":material/toggle_on:" if on else ":material/toggle_off:", type="primary" if on else "secondary",
              help="Switch the edit on and off (key E): the predictions follow live.",
              on_click=lambda: store(current().with_(on=not current().on)))


def clickable_board(prefix: str, position: int, relative: np.ndarray, to_move: int, size: int,
                    font: int = 13) -> None:
    """The board as edited (or the true board while the edit is off); a click on a square adds it to
    the edit or removes it. The rules alone draw it: call it before the edited model runs."""
    spec = current()
    squares = E.chosen_squares(spec, relative)
    board = edited_classes(relative, squares, spec.target) if spec.on else relative
    cells = relative_to_colour(board, to_move)
    title = ("Board as edited" if spec.on else "True board (edit off)") + "<br>click a square to add or remove it"
    pool = E.editable(relative, spec.target)
    editable = np.zeros(64, bool)
    editable[pool] = True
    paint = toggle_data(relative_to_colour(relative, to_move),
                        relative_to_colour(edited_classes(relative, pool, spec.target), to_move), editable, spec.on)

    def toggle(square: int) -> str | None:
        new, message = E.toggle_square(current(), square, relative)
        if not message:
            store(new)
        return message

    live_board(board_data(cells, np.zeros(64, bool), to_move=player_code(to_move), size=size, title=title,
                          position=E.board_key(prefix, position, spec, squares), paint="toggle",
                          extra={"edited square": list(squares)}, toggle=paint, font=font), prefix, toggle)
