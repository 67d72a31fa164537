"""The live edit every page shares (Interventions, Present, tours), as a value: which squares, made
into what, at which layers, how, and whether it is on. Mirrored in the URL as
``?edit=c4d3&edit_target=flip&edit_layers=4,5&edit_method=add&edit_scale=0.5&edit_on=0`` (only what
differs from the defaults), so a shared link reopens the edit.

Pure: no Streamlit. ``toggle_square`` is what a click on the "board as edited" does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from othello_core.analysis.interventions import METHODS, TARGETS, Edit
from othello_core.rules.hooks import layer_param, stream_label, stream_of_param
from othello_core.rules.notation import MoveError, parse_moves, square_to_name
from othello_core.rules.user_input import InputError, parse_choice

POSITIONS = ("last", "all")
SCALES = (0.0, 2.0)  # the scale slider's range
EDITS_OCCUPIED = ("flip", "blank")  # these targets edit discs; "mine"/"theirs" edit empty squares


@dataclass(frozen=True)
class EditSpec:
    """An ``Edit`` as the pages hold it: its squares may be not chosen yet, it can be switched off, and the
    scale starts at the page's 0.5; every other default is ``Edit``'s."""
    squares: tuple[int, ...] | None = None  # None: not chosen yet (the page offers the first editable square)
    target: str = Edit.target
    layers: tuple[int, ...] = Edit.layers
    method: str = Edit.method
    positions: str = Edit.positions
    scale: float = 0.5
    steps: int = Edit.steps
    lr: float = Edit.lr
    reg: float = Edit.reg
    on: bool = True

    def with_(self, **changes) -> "EditSpec":
        return replace(self, **changes)


DEFAULT = EditSpec()


def editable(relative: np.ndarray, target: str) -> list[int]:
    """Squares ``target`` can edit on a mine/theirs/empty board ``[64]``: discs for flip/blank,
    empty squares for mine/theirs."""
    relative = np.asarray(relative)
    pool = np.flatnonzero(relative != 0) if target in EDITS_OCCUPIED else np.flatnonzero(relative == 0)
    return [int(s) for s in pool]


def chosen_squares(spec: EditSpec, relative: np.ndarray) -> tuple[int, ...]:
    """The squares the edit acts on at this position: the chosen ones that are editable here (a
    square chosen at another position may be gone), or the first editable square if none was chosen."""
    pool = editable(relative, spec.target)
    if spec.squares is None:
        return tuple(pool[:1])
    return tuple(s for s in spec.squares if s in pool)


def toggle_square(spec: EditSpec, square: int, relative: np.ndarray) -> tuple[EditSpec, str | None]:
    """A click on ``square``: add it to the edit or remove it. Returns the new spec and, when the
    square cannot be edited by this target, the unchanged spec and a message saying what to do."""
    current = chosen_squares(spec, relative)
    if square in current:
        return spec.with_(squares=tuple(s for s in current if s != square)), None
    if square not in editable(relative, spec.target):
        name = square_to_name(square)
        if spec.target in EDITS_OCCUPIED:
            return spec, (f"{name} is empty: '{spec.target}' edits discs. Click a disc, or make the squares "
                          "'mine' or 'theirs' to place one there.")
        return spec, (f"{name} holds a disc: '{spec.target}' places a disc on an empty square. Click an empty "
                      "square, or make the squares 'flip' or 'blank' to edit this disc.")
    return spec.with_(squares=tuple(sorted(current + (square,)))), None


def to_edit(spec: EditSpec, relative: np.ndarray) -> Edit | None:
    """The model edit at this position, or None when it has no square or no layer."""
    squares = chosen_squares(spec, relative)
    if not squares or not spec.layers:
        return None
    scale = 1.0 if spec.method == "gradient" else spec.scale
    return Edit(squares, target=spec.target, layers=tuple(sorted(spec.layers)), positions=spec.positions,
                method=spec.method, scale=scale, steps=spec.steps, lr=spec.lr, reg=spec.reg)


def to_query(spec: EditSpec | None) -> dict[str, str]:
    """URL parameters of an edit (only what differs from the defaults; nothing if no square was chosen)."""
    if spec is None or spec.squares is None:
        return {}
    out = {"edit": "".join(square_to_name(s) for s in spec.squares) or "none"}
    for field, value in (("target", spec.target), ("method", spec.method), ("positions", spec.positions)):
        if value != getattr(DEFAULT, field):
            out[f"edit_{field}"] = value
    if spec.layers != DEFAULT.layers:
        out["edit_layers"] = ",".join(layer_param(l) for l in spec.layers)
    if spec.scale != DEFAULT.scale:
        out["edit_scale"] = f"{spec.scale:g}"
    if spec.method == "gradient":
        out.update(edit_steps=str(spec.steps), edit_lr=f"{spec.lr:g}", edit_reg=f"{spec.reg:g}")
    if not spec.on:
        out["edit_on"] = "0"
    return out


def from_query(params: dict, n_layers: int = 8) -> tuple[EditSpec | None, tuple[str, ...]]:
    """The edit a URL names (None if it names none) and notes on what in it was refused. Never raises:
    a bad field keeps its default and says so."""
    if "edit" not in params:
        return None, ()
    notes: list[str] = []
    spec = DEFAULT
    text = str(params["edit"])[:200]
    try:
        spec = spec.with_(squares=() if text == "none" else tuple(sorted(set(parse_moves(text)))))
    except MoveError as err:
        notes.append(f"the edit's squares ({err.detail}) were dropped; click discs on the board to choose")
        spec = spec.with_(squares=None)
    for field, allowed in (("target", TARGETS), ("method", METHODS), ("positions", POSITIONS)):
        value = params.get(f"edit_{field}")
        if value is None:
            continue
        try:
            spec = spec.with_(**{field: parse_choice(value, f"the edit's {field}", allowed)})
        except InputError as err:
            notes.append(f"{err}; kept {getattr(spec, field)}")
    if params.get("edit_layers") is not None:
        try:
            layers = tuple(sorted({stream_of_param(p) for p in str(params["edit_layers"])[:200].split(",") if p.strip()}))
            if not layers or not all(1 <= l <= n_layers for l in layers):
                raise ValueError(f"the edit's layers {params['edit_layers']!r} are not among L0 .. L{n_layers - 1}")
            spec = spec.with_(layers=layers)
        except ValueError as err:
            notes.append(f"{err}; the edit keeps {stream_label(DEFAULT.layers[0])}")
    for field, low, high, kind in (("scale", *SCALES, float), ("steps", 5, 100, int), ("lr", 1e-3, 1.0, float),
                                   ("reg", 0.0, 1.0, float)):
        raw = params.get(f"edit_{field}")
        if raw is None:
            continue
        try:
            value = kind(str(raw)[:20])
            if not low <= value <= high:
                raise ValueError
            spec = spec.with_(**{field: value})
        except ValueError:
            notes.append(f"the edit's {field} must be a number from {low:g} to {high:g}; kept {getattr(spec, field):g}")
    if params.get("edit_on") is not None:
        spec = spec.with_(on=str(params["edit_on"]) not in ("0", "off", "false"))
    return spec, tuple(notes)


def result_key(prefix: str, position: int, edit: Edit, on: bool) -> str:
    """The name of what a board of the edit's result shows (its live board's ``position``): the whole edit, so a
    change of any of its settings names a new board.

    >>> result_key("edit_after", 7, Edit((28,), layers=(5,), scale=0.5), True)
    'edit_after_7_on_flip_e4_add_L4_last_0.5'
    """
    names = "".join(square_to_name(s) for s in edit.squares) or "none"
    layers = "-".join(layer_param(s) for s in edit.layers)
    return (f"{prefix}_{position}_{'on' if on else 'off'}_{edit.target}_{names}_{edit.method}_{layers}_{edit.positions}"
            f"_{edit.scale:g}")


def board_key(prefix: str, position: int, spec: EditSpec, squares: tuple[int, ...]) -> str:
    """The name of what a "board as edited" shows (its live board's ``position``): it changes with every
    click's outcome, so a test or bench can wait for the server's board after a click."""
    names = "".join(square_to_name(s) for s in squares) or "none"
    return f"{prefix}_{position}_{spec.target}_{names}"
