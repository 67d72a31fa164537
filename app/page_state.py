"""Each page's own choices (its widgets) mirrored in the link, so a shared link reopens the page as its sender
saw it: ``/probes?…&probes_kind=legal&probes_class=1``. Pure: no Streamlit.

A link's values are read once into *pending* values; a page takes each one (``take``) just before it draws the
widget, and only when it is one of the widget's options (an unknown value is dropped with a note, never
handed to a widget that would reject it). After every run the page's current values are written back.
"""

from __future__ import annotations

from othello_core.rules.notation import name_to_square, square_to_name

# page url_path -> {link parameter: session key of the widget}
PAGE_SETTINGS = {
    "probes": {"probes_metric": "probe_metric", "probes_kind": "probe_kind", "probes_method": "probe_method",
               "probes_class": "probe_class"},
    "circuits": {"circuits_move": "circuit_move", "circuits_tab": "circuits_tab", "neuron_layer": "neuron_layer",
                 "neuron": "neuron_index", "patch_move": "patch_index"},
    "features": {"feature": "feature", "features_tab": "features_tab", "steer_mode": "steer_mode",
                 "steer_scale": "steer_scale", "steer_everywhere": "steer_everywhere"},
}
MAX_VALUE = 60  # characters of a link value kept
SQUARES = {"circuit_move"}  # settings that are squares: written by name in the link (c4), held as an index


def pending_from_query(params: dict) -> dict[str, str]:
    """``{session key: raw value}`` for every page setting the link names (values cut to ``MAX_VALUE``).

    >>> pending_from_query({"probes_kind": "legal", "feature": "12", "moves": "f5", "circuits_move": "c4"})
    {'probe_kind': 'legal', 'circuit_move': '26', 'feature': '12'}
    """
    out = {}
    for settings in PAGE_SETTINGS.values():
        for name, key in settings.items():
            if params.get(name) is not None:
                raw = str(params[name])[:MAX_VALUE]
                if key in SQUARES:
                    try:
                        raw = str(name_to_square(raw))
                    except (KeyError, ValueError):
                        pass  # left as typed: the page drops it with a note
                out[key] = raw
    return out


def parse_as(raw: str, like):
    """``raw`` read as the type of ``like`` (an option or the widget's current value); ValueError if it is not.

    >>> parse_as("3", 0), parse_as("0.5", 1.0), parse_as("true", False), parse_as("x", "y")
    (3, 0.5, True, 'x')
    """
    if isinstance(like, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{raw!r} is not true or false")
        return raw.lower() in ("true", "1")
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    return raw


def to_query(url_path: str, values: dict) -> dict[str, str]:
    """The link parameters of a page's current widget values (``values``: session key -> value; unset ones
    are left out).

    >>> to_query("probes", {"probe_kind": "legal", "probe_class": 1, "other": 3})
    {'probes_kind': 'legal', 'probes_class': '1'}
    """
    out = {}
    for name, key in PAGE_SETTINGS.get(url_path, {}).items():
        value = values.get(key)
        if value is not None:
            out[name] = (square_to_name(value) if key in SQUARES else
                         str(value).lower() if isinstance(value, bool) else str(value))
    return out
