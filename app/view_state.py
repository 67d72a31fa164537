"""Which view Present shows beside the board, and its settings, as a value. Mirrored in the URL as
``?view=attention&layer=3&head=5&probe=mine_theirs`` (the layer is the shared ``layer`` parameter).

Pure: no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from othello_core.rules.user_input import InputError, parse_choice, parse_int

VIEWS = ("prediction", "probe", "edit", "attention")
VIEW_LABELS = {"prediction": "Prediction", "probe": "Probe reading", "edit": "Edit: before / after",
               "attention": "Attention head"}
PROBES = ("mine_theirs", "black_white", "blank")
PROBE_METHODS = ("linear", "mlp")  # the shipped linear probe, or the shipped MLP probe of the same kind
PAGE_VIEWS = {"": "prediction", "probes": "probe", "interventions": "edit", "attention": "attention"}


@dataclass(frozen=True)
class ViewSpec:
    view: str = "prediction"
    head: int = 0
    probe: str = "mine_theirs"
    method: str = "linear"

    def with_(self, **changes) -> "ViewSpec":
        return replace(self, **changes)


def for_page(url_path: str, current: ViewSpec | None) -> ViewSpec:
    """The view that stands for a page when its state is saved as a slide (Present keeps its own)."""
    current = current or ViewSpec()
    if url_path == "present":
        return current
    return current.with_(view=PAGE_VIEWS.get(url_path, "prediction"))


def to_query(spec: ViewSpec | None) -> dict[str, str]:
    if spec is None:
        return {}
    out = {"view": spec.view}
    if spec.head:
        out["head"] = str(spec.head)
    if spec.probe != ViewSpec.probe:
        out["probe"] = spec.probe
    if spec.method != ViewSpec.method:
        out["probe_method"] = spec.method
    return out


def from_query(params: dict, n_heads: int = 8) -> tuple[ViewSpec | None, tuple[str, ...]]:
    """The view a URL names (None if none) and notes on what was refused. Never raises."""
    if not any(k in params for k in ("view", "head", "probe", "probe_method")):
        return None, ()
    notes: list[str] = []
    spec = ViewSpec()
    readers = (("view", lambda v: parse_choice(v, "the view", VIEWS), "showing the prediction"),
               ("head", lambda v: parse_int(v, "the link's head", 0, n_heads - 1), "showing head 0"),
               ("probe", lambda v: parse_choice(v, "the probe", PROBES), "showing mine_theirs"),
               ("probe_method", lambda v: parse_choice(v, "the probe method", PROBE_METHODS), "showing the linear probe"))
    for field, read, fallback in readers:
        if params.get(field) is None:
            continue
        try:
            spec = spec.with_(**{field.removeprefix("probe_"): read(params[field])})
        except InputError as err:
            notes.append(f"{err}; {fallback}")
    return spec, tuple(notes)
