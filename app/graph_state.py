"""The Graph page's state as a value, mirrored in the URL:
``?graph_target=d3&graph_node=F4.11.256&graph_pin=F4.11.256,F5.11.1044&graph_edit=F4.11.256:zero,F5.11.1044:clamp:2.5``.

Pure: no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from othello_core.analysis.graphs.intervene import OPS, NodeEdit
from othello_core.analysis.graphs.view import parse_key
from othello_core.rules.notation import MoveError, parse_moves, square_to_name

MAX_PINS = MAX_EDITS = 12
VALUE_RANGE = (-50.0, 50.0)


@dataclass(frozen=True)
class GraphSpec:
    target: int | None = None  # a square; None: the top move
    node: str | None = None  # the node whose card is open
    pinned: tuple[str, ...] = ()
    edits: tuple[tuple[str, str, float], ...] = ()  # (feature node key, op, value)

    def with_(self, **changes) -> "GraphSpec":
        return replace(self, **changes)

    def toggle_pin(self, key: str) -> "GraphSpec":
        pins = tuple(k for k in self.pinned if k != key)
        return self.with_(pinned=pins if len(pins) < len(self.pinned) else (self.pinned + (key,))[-MAX_PINS:])

    def set_edit(self, key: str, op: str, value: float) -> "GraphSpec":
        rest = tuple(e for e in self.edits if e[0] != key)
        return self.with_(edits=(rest + ((key, op, float(value)),))[-MAX_EDITS:])

    def drop_edit(self, key: str) -> "GraphSpec":
        return self.with_(edits=tuple(e for e in self.edits if e[0] != key))

    def node_edits(self, position: int) -> list[NodeEdit]:
        """The edits as ``NodeEdit`` values (those at positions past ``position`` cannot act there: dropped)."""
        out = []
        for key, op, value in self.edits:
            _, layer, pos, feature = parse_key(key)
            if pos <= position:
                out.append(NodeEdit(layer, pos, feature, op, value))
        return out


def to_query(spec: GraphSpec | None) -> dict[str, str]:
    """
    >>> to_query(GraphSpec(target=19, node="F4.11.256", edits=(("F4.11.256", "clamp", 2.5),)))
    {'graph_target': 'd3', 'graph_node': 'F4.11.256', 'graph_edit': 'F4.11.256:clamp:2.5'}
    """
    if spec is None:
        return {}
    out = {}
    if spec.target is not None:
        out["graph_target"] = square_to_name(spec.target)
    if spec.node:
        out["graph_node"] = spec.node
    if spec.pinned:
        out["graph_pin"] = ",".join(spec.pinned)
    if spec.edits:
        out["graph_edit"] = ",".join(f"{k}:{op}" + (f":{v:g}" if op != "zero" else "") for k, op, v in spec.edits)
    return out


def from_query(params: dict) -> tuple[GraphSpec | None, tuple[str, ...]]:
    """The graph state a URL names (None if none) and notes on what was refused. Never raises."""
    if not any(k.startswith("graph_") for k in params):
        return None, ()
    notes: list[str] = []
    spec = GraphSpec()
    if params.get("graph_target"):
        try:
            (target,) = parse_moves(str(params["graph_target"])[:10])
            spec = spec.with_(target=target)
        except (MoveError, ValueError):
            notes.append(f"the graph's target {str(params['graph_target'])[:10]!r} is not one square; "
                         "explaining the top move")
    if params.get("graph_node"):
        key = str(params["graph_node"])[:40]
        if parse_key(key):
            spec = spec.with_(node=key)
        else:
            notes.append(f"the graph node {key!r} is not a node key (e.g. F4.11.256)")
    pins = [k for k in str(params.get("graph_pin", "") or "")[:800].split(",") if k]
    bad = [k for k in pins if not parse_key(k)]
    if bad:
        notes.append(f"unknown pinned nodes dropped: {', '.join(b[:40] for b in bad[:3])}")
    spec = spec.with_(pinned=tuple(k for k in pins if parse_key(k))[:MAX_PINS])
    edits = []
    for part in [p for p in str(params.get("graph_edit", "") or "")[:800].split(",") if p][:MAX_EDITS]:
        edit = _read_edit(part)
        if edit is None:
            notes.append(f"the node edit {part[:40]!r} was dropped (feature:zero, feature:scale:0.5 or "
                         "feature:clamp:2)")
        else:
            edits.append(edit)
    return spec.with_(edits=tuple(edits)), tuple(notes)


def _read_edit(part: str) -> tuple[str, str, float] | None:
    """
    >>> _read_edit("F4.11.256:zero"), _read_edit("F1.2.3:scale:0.5"), _read_edit("E1.2:zero"), _read_edit("F1.2.3:clamp:1e9")
    (('F4.11.256', 'zero', 0.0), ('F1.2.3', 'scale', 0.5), None, None)
    """
    bits = part.split(":")
    parsed = parse_key(bits[0])
    if parsed is None or parsed[0] != "feature" or len(bits) not in (2, 3) or bits[1] not in OPS:
        return None
    if bits[1] == "zero":
        return (bits[0], "zero", 0.0) if len(bits) == 2 else None
    try:
        value = float(bits[2]) if len(bits) == 3 else None
    except ValueError:
        return None
    if value is None or not VALUE_RANGE[0] <= value <= VALUE_RANGE[1]:
        return None
    return bits[0], bits[1], value
