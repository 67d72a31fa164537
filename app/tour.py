"""Tours: prepared sequences of positions and views for a talk, as plain values.

A tour is a name, a title and a list of slides; a slide is a move line, a position on it (``at``),
the page it was saved on, the Present view, that view's settings (the URL parameters the app already
reads: ``layer``, ``head``, ``probe``, ``edit``, ``edit_*``) and a markdown caption. Captions quote
figures as placeholders filled from ``findings.json`` when shown, never typed in::

    "The linear probe reads {probes.figures.best_linear_mine_theirs:.1%} of cells"

``{a.b.c}`` is the value at that path, ``{a.b.c:.1%}`` formats it; ``{{`` and ``}}`` are literal
braces. A path that findings.json lacks raises ``PlaceholderError`` naming it.

Pure: no Streamlit. Shipped tours live in ``assets/tours/NAME.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from othello_core.rules.board import parse_game
from othello_core.rules.notation import MoveError

from app.view_state import VIEWS

TOURS_DIR = Path(__file__).resolve().parent.parent / "assets" / "tours"
SETTINGS = {"layer", "head", "probe", "probe_method", "edit", "edit_target", "edit_layers", "edit_method", "edit_positions",
            "edit_scale", "edit_steps", "edit_lr", "edit_reg", "edit_on", "graph_target", "graph_node", "graph_pin",
            "graph_edit"}
PAGES = {"", "probes", "interventions", "circuits", "attention", "features", "graph", "search", "findings", "model", "present"}
MAX_SLIDES = 200
MAX_CAPTION = 4000
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}:]+)(?::([^{}]*))?\}")
_NAME = re.compile(r"[a-z0-9_-]{1,40}")


# What a findings figure is about, as the view that draws it: (view, probe, method); None matches any. A slide's
# caption may quote a figure only when its own view draws that thing (``caption_mismatches``); the longest
# matching prefix decides.
DRAWN_BY = {
    "probes.figures.best_linear_mine_theirs": ("probe", "mine_theirs", "linear"),
    "probes.figures.best_layer_label": ("probe", None, "linear"),
    "probes.figures.linear_black_white_there": ("probe", "black_white", "linear"),
    "probes.figures.shipped_mlp": ("probe", "black_white", "mlp"),
    "probes.linear_mine_theirs": ("probe", "mine_theirs", "linear"),
    "empty_square.layer_label": ("probe", "blank", None),
    "empty_square.blank_accuracy.clean": ("probe", "blank", "linear"),
    "empty_square.top_components": ("attention", None, None),  # the heads written into the blank stream
    "empty_square.blank_accuracy": ("attention", None, None),  # ... and what ablating them does
    "empty_square.legal_top1": ("attention", None, None),
    "head_roles": ("attention", None, None),
    "minimal_edit": ("edit", None, None),
}


def caption_mismatches(slide: "Slide") -> list[str]:
    """The placeholders of a slide's caption that its view does not draw (empty when the caption is honest)."""
    probe = slide.settings.get("probe", "mine_theirs")
    method = slide.settings.get("probe_method", "linear")
    bad = []
    for path in placeholders(slide.caption):
        prefixes = [p for p in DRAWN_BY if path == p or path.startswith(p + ".") or path.startswith(p + "_")]
        if not prefixes:
            bad.append(f"{path}: no view draws it")
            continue
        view, want_probe, want_method = DRAWN_BY[max(prefixes, key=len)]
        if slide.view != view or want_probe not in (None, probe) or want_method not in (None, method):
            bad.append(f"{path}: drawn by the {view} view ({want_probe or 'any'} probe, {want_method or 'any'} method), "
                       f"not by this {slide.view} slide")
    return bad


class TourError(ValueError):
    """A tour file that cannot be used; the message says what to fix."""


class PlaceholderError(KeyError):
    """A caption names a figure findings.json does not have."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Slide:
    moves: str
    at: int
    view: str = "prediction"
    page: str = "present"
    settings: dict = field(default_factory=dict)
    caption: str = ""

    def params(self) -> dict[str, str]:
        """The URL parameters that reopen this slide."""
        return {"moves": self.moves, "at": str(self.at), "view": self.view, **self.settings}


@dataclass(frozen=True)
class Tour:
    name: str
    title: str
    slides: tuple[Slide, ...] = ()

    def with_slides(self, slides) -> "Tour":
        return replace(self, slides=tuple(slides))


# -- building ---------------------------------------------------------------------------------------

def slide_from_state(moves: str, at: int, view: str, page: str, params: dict, caption: str = "") -> Slide:
    """A slide of the current state: the view's settings are the URL parameters it reads."""
    settings = {k: str(v) for k, v in params.items() if k in SETTINGS}
    return validate_slide(Slide(moves, at, view, page, settings, caption), 0)


def add(tour: Tour, slide: Slide) -> Tour:
    if len(tour.slides) >= MAX_SLIDES:
        raise TourError(f"a tour holds at most {MAX_SLIDES} slides: delete one first")
    return tour.with_slides(tour.slides + (slide,))


def move(tour: Tour, index: int, delta: int) -> Tour:
    """Slide ``index`` moved by ``delta`` places (clamped to the ends)."""
    slides = list(tour.slides)
    target = max(0, min(len(slides) - 1, index + delta))
    slides.insert(target, slides.pop(index))
    return tour.with_slides(slides)


def delete(tour: Tour, index: int) -> Tour:
    return tour.with_slides(s for i, s in enumerate(tour.slides) if i != index)


# -- reading and writing ------------------------------------------------------------------------------

def validate_slide(slide: Slide, index: int) -> Slide:
    where = f"slide {index + 1}"
    try:
        game = parse_game(slide.moves)
    except MoveError as err:
        raise TourError(f"{where}: its moves are not a legal game (move {err.index + 1}: {err.detail})") from None
    if not isinstance(slide.at, int) or not 0 <= slide.at <= len(game):
        raise TourError(f"{where}: 'at' must be a whole number from 0 to {len(game)} (its moves)")
    if slide.view not in VIEWS:
        raise TourError(f"{where}: 'view' must be one of {', '.join(VIEWS)}")
    if slide.page not in PAGES:
        raise TourError(f"{where}: 'page' must be one of {', '.join(sorted(PAGES))} ('' is Play)")
    if not isinstance(slide.settings, dict) or set(slide.settings) - SETTINGS:
        unknown = sorted(set(slide.settings) - SETTINGS) if isinstance(slide.settings, dict) else "not a mapping"
        raise TourError(f"{where}: unknown settings {unknown}; allowed: {', '.join(sorted(SETTINGS))}")
    if not isinstance(slide.caption, str) or len(slide.caption) > MAX_CAPTION:
        raise TourError(f"{where}: the caption must be text of at most {MAX_CAPTION} characters")
    return replace(slide, settings={k: str(v) for k, v in slide.settings.items()})


def from_dict(data) -> Tour:
    """A tour from parsed JSON; ``TourError`` names the first thing wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("slides"), list):
        raise TourError("a tour is a JSON object with 'name', 'title' and a list of 'slides'")
    name = str(data.get("name", "tour"))
    if not _NAME.fullmatch(name):
        raise TourError("the tour's 'name' must be 1-40 characters of a-z, 0-9, '_' or '-'")
    if len(data["slides"]) > MAX_SLIDES:
        raise TourError(f"a tour holds at most {MAX_SLIDES} slides")
    slides = []
    for i, raw in enumerate(data["slides"]):
        if not isinstance(raw, dict):
            raise TourError(f"slide {i + 1}: a slide is an object with 'moves', 'at', 'view' and 'caption'")
        unknown = set(raw) - {"moves", "at", "view", "page", "settings", "caption"}
        if unknown:
            raise TourError(f"slide {i + 1}: unknown fields {sorted(unknown)}")
        try:
            slide = Slide(str(raw["moves"]), raw.get("at", len(parse_game(str(raw["moves"])))),
                          raw.get("view", "prediction"), raw.get("page", "present"), raw.get("settings", {}),
                          raw.get("caption", ""))
        except KeyError:
            raise TourError(f"slide {i + 1}: 'moves' is missing (use \"\" for the start position)") from None
        except MoveError as err:
            raise TourError(f"slide {i + 1}: its moves are not a legal game (move {err.index + 1}: "
                            f"{err.detail})") from None
        slides.append(validate_slide(slide, i))
    return Tour(name, str(data.get("title", name))[:200], tuple(slides))


def loads(text: str | bytes) -> Tour:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise TourError(f"the file is not JSON ({err}); download a tour from the sidebar to see the format") from None
    return from_dict(data)


def dumps(tour: Tour) -> str:
    return json.dumps({"name": tour.name, "title": tour.title, "slides": [asdict(s) for s in tour.slides]},
                      indent=2, ensure_ascii=False) + "\n"


def shipped_names(folder: Path = TOURS_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.json"))


def shipped(name: str, folder: Path = TOURS_DIR) -> Tour:
    if name not in shipped_names(folder):
        raise TourError(f"no shipped tour called {name[:40]!r}; shipped: {', '.join(shipped_names(folder))}")
    return loads((folder / f"{name}.json").read_text())


# -- captions -----------------------------------------------------------------------------------------

def placeholders(caption: str) -> list[str]:
    """The findings paths a caption quotes."""
    return [m.group(1).strip() for m in _PLACEHOLDER.finditer(caption) if m.group(1)]


def lookup(findings: dict, path: str):
    value = findings
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise PlaceholderError(f"findings.json has no '{path}' (no '{part}' there): fix the caption's "
                                   "placeholder or regenerate findings with `python -m othello_core findings`")
    return value


def fill(caption: str, findings: dict) -> str:
    """The caption with every ``{path[:format]}`` replaced by the figure findings.json holds."""
    def one(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        path, spec = match.group(1).strip(), match.group(2) or ""
        value = lookup(findings, path)
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            raise PlaceholderError(f"'{path}' is {value!r}, which the format '{spec}' cannot show") from None
    return _PLACEHOLDER.sub(one, caption)
