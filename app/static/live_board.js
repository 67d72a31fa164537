// The live board (app/live_board.py): the board a person clicks, drawn as SVG; a click is painted by the
// game's rules at once, then reported to the server, whose board replaces the painting when its run arrives.
// tools.js at this module's own version (the ?v= on its URL): a browser never mixes a new file with a cached old one
const { tools } = await import(new URL(`./tools.js${new URL(import.meta.url).search}`, import.meta.url));

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
