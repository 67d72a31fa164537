"""The live board: the board a person clicks to play, drawn in the browser as SVG by a few lines of JavaScript
(Streamlit's components v2: inline, no build step, no network at run time).

A plotly board answers a click only after the server has run the page and sent the new figure back (measured:
2.3-4x a bare Streamlit board's round trip, bench/RESULTS.md). Here the browser applies the move itself, by the
game's rules (place the disc, flip the bracketed runs, ring the next player's legal moves, pass when they have
none), paints it in the same frame, then reports the square; the server's board replaces the painting when the
run for that click arrives (``clicks``: the number of the last click the server handled, so a board sent before
the click does not undo the painting). A click the server refuses is shown under the board and the server's board stays.

Markers keep the one meaning they have on every plotly board (``app.figures.MARKERS``: same symbol, colour and
size as a fraction of a square), and the legend lists the ones drawn. The ``data-…`` attributes on the SVG
(``position``: the server's name for its board, empty on a painting; ``shown``, ``cells``, ``legal``,
``edited``, ``source``, ``hover``) let tests and benches read what is drawn.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from othello_core.rules.board import BLACK
from app.figures import BOARD_GREEN, MARKERS, RINGED, colour_scale
from app.live_svg import TOOLS_JS, tools_css

ERRORS = "live_board_error"  # session key: (board key, position, message) of the last refused click
CLICKS = "live_board_clicks"  # session key: {board key: the browser's number of the last click handled}

_CSS = """
.live-board svg { display: block; user-select: none; -webkit-user-select: none; }
.live-board .sq { cursor: default; }
.live-board .sq.legal { cursor: pointer; }
.live-board .sq.legal:hover { stroke: #fff; stroke-width: 2; }
.live-board { position: relative; display: inline-block; }
""" + tools_css(".live-board")

_JS = TOOLS_JS + """
const NS = 'http://www.w3.org/2000/svg';
const DIRS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];
const FILES = 'abcdefgh';
const name = (s) => FILES[s % 8] + (Math.floor(s / 8) + 1);

// The rules (cells: 0 empty, 1 black, 2 white; me: 1 or 2): the discs a move at sq flips.
function flipsOf(cells, sq, me) {
  if (cells[sq]) return [];
  const them = 3 - me, r0 = Math.floor(sq / 8), c0 = sq % 8;
  let out = [];
  for (const [dr, dc] of DIRS) {
    let r = r0 + dr, c = c0 + dc;
    const run = [];
    while (r >= 0 && r < 8 && c >= 0 && c < 8 && cells[r * 8 + c] === them) { run.push(r * 8 + c); r += dr; c += dc; }
    if (run.length && r >= 0 && r < 8 && c >= 0 && c < 8 && cells[r * 8 + c] === me) out = out.concat(run);
  }
  return out;
}
const legalOf = (cells, me) => cells.map((_, s) => flipsOf(cells, s, me).length > 0);

// The position after playing sq (null when sq is not legal): the next player passes when they have no move.
function played(board, sq) {
  const flips = flipsOf(board.cells, sq, board.toMove);
  if (!board.legal[sq] || !flips.length) return null;
  const cells = board.cells.slice();
  cells[sq] = board.toMove;
  flips.forEach((s) => { cells[s] = board.toMove; });
  let toMove = 3 - board.toMove, legal = legalOf(cells, toMove);
  if (!legal.some(Boolean)) { toMove = board.toMove; legal = legalOf(cells, toMove); }
  const flipped = cells.map(() => false);
  flips.forEach((s) => { flipped[s] = true; });
  return Object.assign({}, board, {cells, legal, toMove, last: sq, flipped, shown: board.shown + 1,
                                   source: 'painted'});
}

// The board with sq added to the edit or taken out of it: its frame, and its disc as edited (edit on) or true.
function toggled(board, sq, toggle) {
  if (!toggle.editable[sq]) return null;
  const marked = board.extra['edited square'] || [];
  const inside = marked.includes(sq);
  const cells = board.cells.slice();
  if (toggle.on) cells[sq] = inside ? toggle.original[sq] : toggle.edited[sq];
  const extra = Object.assign({}, board.extra, {'edited square': inside ? marked.filter((s) => s !== sq)
                                                                         : marked.concat([sq]).sort((a, b) => a - b)});
  return Object.assign({}, board, {cells, extra, source: 'painted'});
}

// A value's colour on the scale [[position, 'rgb(r, g, b)'], ...] (plotly's stops), value in 0..1.
function colour(scale, value) {
  const v = Math.min(1, Math.max(0, value));
  const rgb = (c) => c.match(/[0-9.]+/g).slice(0, 3).map(Number);
  for (let i = 1; i < scale.length; i++) {
    if (v <= scale[i][0]) {
      const [p0, c0] = scale[i - 1], [p1, c1] = scale[i];
      const f = p1 > p0 ? (v - p0) / (p1 - p0) : 0, a = rgb(c0), b = rgb(c1);
      return `rgb(${a.map((x, k) => Math.round(x + f * (b[k] - x))).join(',')})`;
    }
  }
  return scale[scale.length - 1][1];
}

function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// One marker (symbol, colour, size as a fraction of the square, outline width as a fraction or 0) at (x, y).
function marker(g, [symbol, colour, frac, width], x, y, cell, ringed) {
  const r = frac * cell / 2, line = Math.max(1.5, cell * width);
  const paint = ringed ? {fill: 'none', stroke: colour, 'stroke-width': line} : {fill: colour};
  if (symbol === 'circle') el('circle', Object.assign({cx: x, cy: y, r: ringed ? r - line / 2 : r}, paint), g);
  else if (symbol === 'square') el('rect', Object.assign({x: x - r + line / 2, y: y - r + line / 2,
                                                          width: 2 * r - line, height: 2 * r - line}, paint), g);
  else if (symbol === 'x') el('path', {d: `M${x - r},${y - r}L${x + r},${y + r}M${x - r},${y + r}L${x + r},${y - r}`,
                                      stroke: colour, 'stroke-width': Math.max(2, r * 0.55), fill: 'none'}, g);
  else {  // star
    const pts = [];
    for (let i = 0; i < 10; i++) {
      const a = Math.PI / 5 * i - Math.PI / 2, rr = i % 2 ? r * 0.45 : r;
      pts.push(`${x + rr * Math.cos(a)},${y + rr * Math.sin(a)}`);
    }
    el('polygon', Object.assign({points: pts.join(' ')}, paint), g);
  }
}

function draw(root, board) {
  const d = root.data, font = d.font, size = d.size;
  const titleH = d.title ? d.title.split('<br>').length * (font + 5) + 8 : 4, labels = font + 6, left = font + 8;
  const bar = d.heat ? 60 + 2 * font : 0;  // the colour bar beside a heat board, as plotly's boards have it
  const side = size - left - 8, cell = side / 8, width = size + bar;
  const kinds = Object.keys(d.markers).filter((k) => markedSquares(board, k).length);
  const legendH = kinds.length ? font + 14 : 6;
  const top = titleH + labels, height = top + side + legendH;
  const svg = el('svg', {xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
                         'aria-label': d.title ? d.title.replace(/<br>/g, ' · ') : 'Othello board',
                         'font-family': 'Source Sans Pro, sans-serif'});
  (d.title ? d.title.split('<br>') : []).forEach((line, i) => {
    el('text', {x: 0, y: (i + 1) * (font + 5) - 1, 'font-size': font + 1}, svg).textContent = line;
  });
  for (let i = 0; i < 8; i++) {
    el('text', {x: left + (i + 0.5) * cell, y: top - 5, 'text-anchor': 'middle', 'font-size': font}, svg)
      .textContent = FILES[i];
    el('text', {x: left - 6, y: top + (i + 0.5) * cell + font / 3, 'text-anchor': 'end', 'font-size': font}, svg)
      .textContent = String(i + 1);
  }
  const squares = el('g', {}, svg), discs = el('g', {'pointer-events': 'none'}, svg);
  const marks = el('g', {'pointer-events': 'none'}, svg);
  for (let s = 0; s < 64; s++) {
    const x = left + (s % 8) * cell, y = top + Math.floor(s / 8) * cell;
    const legal = d.clickable && (d.paint === 'toggle' ? d.toggle.editable[s] : board.legal[s]);
    const fill = d.heat ? colour(d.scale, (d.heat[s] - d.zmin) / (d.zmax - d.zmin)) : d.green;
    const rect = el('rect', {x: x + 1, y: y + 1, width: cell - 2, height: cell - 2, fill,
                             class: 'sq' + (legal ? ' legal' : ''), 'data-square': s}, squares);
    if (d.heat) el('title', {}, rect).textContent = `${name(s)}: ${d.heat[s].toFixed(3)} ${d.heat_label}`;
    if (board.cells[s]) el('circle', {cx: x + cell / 2, cy: y + cell / 2, r: 0.37 * cell,
                                      fill: board.cells[s] === 1 ? 'black' : 'white',
                                      stroke: board.cells[s] === 1 ? '#888' : '#333', 'stroke-width': 1.5}, discs);
  }
  for (const k of kinds) for (const s of markedSquares(board, k))
    marker(marks, d.markers[k], left + (s % 8 + 0.5) * cell, top + (Math.floor(s / 8) + 0.5) * cell, cell,
           d.ringed.includes(k));
  if (d.heat) {  // the colour bar: the scale from zmin (bottom) to zmax, three ticks, the heat's name above
    const bx = left + side + 16, bw = 12, id = 'scale-' + Math.random().toString(36).slice(2);
    const grad = el('linearGradient', {id, x1: 0, y1: 1, x2: 0, y2: 0}, el('defs', {}, svg));
    d.scale.forEach(([p, c]) => el('stop', {offset: p, 'stop-color': c}, grad));
    el('rect', {x: bx, y: top + side * 0.1, width: bw, height: side * 0.8, fill: `url(#${id})`, stroke: '#888',
                'stroke-width': 0.5}, svg);
    el('text', {x: bx, y: top + side * 0.1 - 8, 'font-size': font - 1}, svg).textContent = d.heat_label;
    [0, 0.5, 1].forEach((f) => {
      el('text', {x: bx + bw + 4, y: top + side * (0.9 - 0.8 * f) + font / 3, 'font-size': font - 2}, svg)
        .textContent = String(+(d.zmin + f * (d.zmax - d.zmin)).toPrecision(2));
    });
  }
  let lx = 0;
  const ly = top + side + legendH / 2 + 2;
  for (const k of kinds) {
    const g = el('g', {}, svg);
    marker(g, d.markers[k], lx + 7, ly, 14, d.ringed.includes(k));
    el('text', {x: lx + 18, y: ly + font / 3, 'font-size': font - 2}, g).textContent = k;
    lx += 28 + k.length * (font - 2) * 0.5;
  }
  Object.assign(svg.dataset, {position: board.source === 'server' ? d.position : '', shown: board.shown,
                              source: board.source,
                              cells: board.cells.join(''), legal: board.legal.map(Number).join(''),
                              edited: (board.extra['edited square'] || []).map(name).join('')});
  svg.addEventListener('pointerover', (e) => {
    const s = e.target.dataset && e.target.dataset.square;
    if (s !== undefined) svg.dataset.hover = name(Number(s));
  });
  svg.addEventListener('pointerleave', () => { delete svg.dataset.hover; });
  svg.addEventListener('click', (e) => {
    const s = e.target.dataset && e.target.dataset.square;
    if (s === undefined || !d.clickable) return;
    const next = d.paint === 'play' ? played(root.board, Number(s))
               : d.paint === 'toggle' ? toggled(root.board, Number(s), d.toggle) : null;
    // on a painting the server has not drawn yet, a click the rules refuse (a double click's second press on
    // the disc just placed) is not sent: the server would refuse it against a position nobody sees
    if (!next && root.board.source === 'painted') return;
    root.sent = Math.max(root.sent, d.clicks) + 1;
    root.clickedAt = Date.now();
    const shown = root.board.shown;  // the position the click was made on, painted or the server's
    if (next) show(root, next);
    root.setTrigger('square', {square: Number(s), seq: root.sent, shown});
  });
  root.replaceChildren(svg, tools(svg));
}

function markedSquares(board, kind) {
  if (kind === 'legal move') return board.legal.flatMap((on, s) => (on ? [s] : []));
  if (kind === 'last move') return board.last === null || board.last < 0 ? [] : [board.last];
  if (kind === 'flipped by it') return board.flipped.flatMap((on, s) => (on ? [s] : []));
  return (board.extra[kind] || []);
}

function show(root, board) {
  root.board = board;
  draw(root, board);
}

export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  let root = parentElement.querySelector('.live-board');
  if (!root) {
    root = document.createElement('div');
    root.className = 'live-board';
    root.sent = 0;
    parentElement.appendChild(root);
  }
  root.setTrigger = setTriggerValue;
  root.data = data;
  const server = {cells: data.cells, legal: data.legal, toMove: data.to_move, last: data.last,
                  flipped: data.flipped, extra: data.extra, shown: data.shown, source: 'server'};
  // a board the server sent before it handled this browser's last click must not undo that click's painting
  const pending = data.clicks < root.sent && Date.now() - root.clickedAt < 5000;
  if (!pending) show(root, server);
  else setTimeout(() => { if (root.data === data && root.board.source === 'painted') show(root, server); }, 5000);
}
"""

_live_board = st.components.v2.component("othello_live_board", js=_JS, css=_CSS)


def player_code(to_move: int) -> int:
    """The board's code of the player to move (1 black, 2 white) from the rules' ``BLACK`` / ``WHITE``."""
    return 1 if to_move == BLACK else 2


def toggle_data(original: np.ndarray, edited: np.ndarray, editable: np.ndarray, on: bool) -> dict:
    """How a click on an edit board is painted: a square in ``editable`` [64] goes into the edit (its frame, and
    its disc drawn as ``edited`` [64] while the edit is ``on``) or out of it (as ``original`` [64])."""
    return {"original": [int(c) for c in original], "edited": [int(c) for c in edited],
            "editable": [bool(x) for x in editable], "on": bool(on)}


def board_data(cells: np.ndarray, legal: np.ndarray, to_move: int, last_move: int | None = None,
               flipped: np.ndarray | None = None, title: str | None = None, size: int = 420, shown: int = 0,
               position: str = "", paint: str | None = "play",
               extra: dict[str, list[int]] | None = None, font: int = 13, toggle: dict | None = None,
               heat: np.ndarray | None = None, heat_label: str = "P(move)", zmax: float | None = None,
               colorscale: str = "Blues", zmin: float = 0.0) -> dict:
    """What the browser draws: ``cells`` [64] (0 empty / 1 black / 2 white), the ``legal`` moves [64] of the
    player ``to_move`` (1 black / 2 white), the ``last_move`` and the discs it ``flipped``, other markers by
    name (``extra``: squares per ``MARKERS`` name); ``shown`` moves into the game, ``position`` the server's
    name for what it draws. ``paint`` says what a click paints before the server answers: "play" (a legal move,
    by the rules), "toggle" (a square in or out of an edit, as ``toggle``: ``toggle_data``) or None (nothing).
    ``heat`` [64] colours the squares on ``colorscale`` from ``zmin`` to ``zmax`` (default its largest value),
    with a colour bar named ``heat_label``, as ``board_figure``'s heat boards.

    >>> d = board_data(np.zeros(64, int), np.zeros(64, bool), to_move=1, last_move=None)
    >>> d["last"], d["markers"]["legal move"][:2], d["ringed"]
    (None, ['circle', '#ffb300'], ['legal move', 'edited square'])
    """
    if paint not in ("play", "toggle", None) or (paint == "toggle") != (toggle is not None):
        raise ValueError(f"paint is 'play', 'toggle' (with toggle=toggle_data(...)) or None, not {paint!r}")
    if to_move not in (1, 2):
        raise ValueError(f"to_move is 1 (black) or 2 (white), not {to_move!r}")
    unknown = set(extra or {}) - set(MARKERS)
    if unknown:
        raise ValueError(f"no marker named {sorted(unknown)}: the markers are {list(MARKERS)}")
    return {"cells": [int(c) for c in cells], "legal": [bool(x) for x in legal], "to_move": to_move,
            "last": None if last_move is None or last_move < 0 else int(last_move),
            "flipped": [bool(x) for x in (flipped if flipped is not None else np.zeros(64, bool))],
            "extra": {k: [int(s) for s in v] for k, v in (extra or {}).items()},
            "markers": {k: list(v) for k, v in MARKERS.items()}, "ringed": list(RINGED), "green": BOARD_GREEN,
            "title": title, "size": int(size), "font": font, "shown": int(shown), "position": position,
            "paint": paint, "toggle": toggle,
            "heat": None if heat is None else [round(float(v), 5) for v in heat], "heat_label": heat_label,
            "zmin": float(zmin), "zmax": float(zmax if zmax is not None else max(float(np.max(heat)), 1e-6))
            if heat is not None else 1.0, "scale": colour_scale(colorscale)}


def live_board(data: dict, key: str, on_square: Callable[[int], str | None] | None = None,
               shown_now: Callable[[], int] | None = None) -> None:
    """Draw ``data`` (``board_data``) under the element key ``key``; a click calls ``on_square(square)``, which
    changes the session state and returns None, or returns what was wrong (shown under the board while it shows
    that position). Runs before the page's script (a callback), so the one run that follows draws the new
    position. ``shown_now`` (the moves into the game the session is at) refuses a click made on the browser's
    painting of an earlier click the server never received (Streamlit keeps the newest of two it has not yet
    run): it would be applied to another position than the one it was made on. ``on_square=None``: a board
    to look at."""
    ss = st.session_state
    handled = ss.setdefault(CLICKS, {})
    if on_square is None:  # a board to look at: nothing to report
        _live_board(key=key, data=data | {"clickable": False, "paint": None, "clicks": 0}, width="content")
        return

    def clicked() -> None:
        click = getattr(ss.get(key), "square", None)  # {square, seq: the browser's click number, shown}
        if not isinstance(click, dict) or not 0 <= int(click.get("square", -1)) < 64:
            return
        # Streamlit keeps only the newest of two clicks that reach it before a run takes them: the browser's
        # click number (not a count here) lets it show the server's board at once when one was dropped
        handled[key] = max(handled.get(key, 0), int(click.get("seq", 0)))
        if shown_now is not None and click.get("shown") != shown_now():  # made on a painting of a lost click
            ss[ERRORS] = (key, data["position"], "A click was lost (two came faster than the server took them): "
                                                 "the board shows the position the server has. Click again.")
            return
        message = on_square(int(click["square"]))
        if message:
            ss[ERRORS] = (key, data["position"], message)
        else:
            ss.pop(ERRORS, None)

    _live_board(key=key, data=data | {"clickable": True, "clicks": handled.get(key, 0)}, on_square_change=clicked,
                width="content")
    error = ss.get(ERRORS)
    if error and error[:2] == (key, data["position"]):
        st.error(error[2])
    elif error and error[0] == key:  # about a position this board no longer shows
        ss.pop(ERRORS)
