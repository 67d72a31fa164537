"""A tour as one self-contained HTML file: every slide's board and view drawn as in Present (the same figure
builders, ``present_figures``), captions filled from the findings, plotly's JavaScript inlined once, slides
stepped with the arrow keys (Home / End too). It opens from disk with no server and no network.

    python -m app.tour_export probes -o probes.html      (a shipped tour, or a tour JSON file)

It lives in the app, not in ``othello_core``: its figures are the app's plotly figures, and the core never
imports plotly.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

import numpy as np

from app import edit_state, present_figures as F, state as S, view_state
from app import tour as T
from app.present_data import attention_block, probe_key
from othello_core.rules.board import replay
from othello_core.rules.vocab import colour_classes, relative_to_colour

SIZE = 520


def caption_html(text: str) -> str:
    """The little Markdown captions use (**bold**, *italic*, `code`), escaped first.

    >>> caption_html("a **b** *c* `d` <e>")
    'a <strong>b</strong> <em>c</em> <code>d</code> &lt;e&gt;'
    """
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"\*(.+?)\*", r"<em>\1</em>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def slide_figures(service, slide: T.Slide) -> tuple[list, str]:
    """(figures, headline) of one slide, as Present draws it."""
    from othello_core.analysis.interventions import apply_edit
    params = slide.params()
    loaded = S.from_query(params, service.n_layers)
    line, cursor = loaded.line, loaded.cursor
    board = replay(line[:cursor]).board
    cells = colour_classes([board.cell(s) for s in range(64)])
    legal = np.array([bool(board.legal_mask() >> s & 1) for s in range(64)])
    last = line[cursor - 1] if cursor else None
    figures = [F.board(cells, legal, last, SIZE)]
    position = cursor - 1
    if not line or not 0 <= position < min(len(line), 59):
        return figures, "No model view here: the model predicts from the first move to the 59th."
    analysis = service.analyze(tuple(line))
    spec = view_state.from_query(params, analysis.patterns.shape[1])[0] or view_state.ViewSpec()
    layer = loaded.layer if loaded.layer is not None else (service.n_layers * 3) // 4
    if spec.view == "probe":
        found = probe_key(service.probes.mlp if service.probes else (), spec.probe, spec.method)
        probs = service.probe_position(analysis, position).get(found[0]) if found else None
        if probs is not None:
            fig, headline = F.probe(probs, analysis, position, min(layer, service.n_layers), spec.probe, SIZE, found[1])
            return figures + [fig], headline
    if spec.view == "attention":
        fig, headline = F.attention(analysis, position, cells, attention_block(layer, service.n_layers), spec.head, SIZE)
        return figures + [fig], headline
    if spec.view == "edit":
        edit_spec = edit_state.from_query(params, service.n_layers)[0]
        relative = analysis.relative[position]
        change = edit_state.to_edit(edit_spec, relative) if edit_spec else None
        if change is not None and analysis.to_move[position] != 0:
            result = apply_edit(service, tuple(line), position, change, clean_probs=analysis.move_probs[position])
            to_move = int(analysis.to_move[position])
            edited_board = F.board(relative_to_colour(result.board_after, to_move), None, None, SIZE)
            edited_board.update_layout(title="Board as edited")
            fig, headline = F.edit_result(result, edit_spec.on, to_move, SIZE)
            return [edited_board if edit_spec.on else figures[0], fig], headline
    fig, headline = F.prediction(analysis, position, cells, SIZE)
    return figures + [fig], headline


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 0; padding: 16px 24px; background: #fff; color: #222; }}
 header {{ display: flex; gap: 16px; align-items: center; }}
 header h1 {{ font-size: 24px; margin: 0; flex: 1; }}
 button {{ font-size: 18px; padding: 6px 14px; }}
 .slide {{ display: none; }} .slide.shown {{ display: block; }}
 .caption {{ font-size: 20px; line-height: 1.4; margin: 12px 0; max-width: 1200px; }}
 .headline {{ font-size: 20px; font-weight: 600; }}
 .figures {{ display: flex; flex-wrap: wrap; gap: 12px; }}
 footer {{ color: #777; font-size: 13px; margin-top: 12px; }}
</style>
<script>{plotly}</script>
</head><body>
<header><button id="prev">&#9664; Prev</button><button id="next">Next &#9654;</button>
<h1>{title} · <span id="where"></span></h1></header>
{slides}
<footer>Othello-GPT Explorer · tour "{name}" · exported from model {model} (weights {hash}) · arrow keys, Home and End step
through the slides; no server or network needed.</footer>
<script>
const FIGS = {figs};
let current = 0;
const slides = document.querySelectorAll('.slide');
function show(i) {{
  current = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, j) => s.classList.toggle('shown', j === current));
  document.getElementById('where').textContent = 'slide ' + (current + 1) + ' / ' + slides.length;
  FIGS[current].forEach((fig, k) => {{
    const el = document.getElementById('fig-' + current + '-' + k);
    if (!el.dataset.drawn) {{ Plotly.newPlot(el, fig.data, fig.layout, {{displayModeBar: false, staticPlot: true}}); el.dataset.drawn = 1; }}
  }});
}}
document.getElementById('prev').onclick = () => show(current - 1);
document.getElementById('next').onclick = () => show(current + 1);
document.addEventListener('keydown', (e) => {{
  if (e.key === 'ArrowRight' || e.key === 'PageDown') show(current + 1);
  else if (e.key === 'ArrowLeft' || e.key === 'PageUp') show(current - 1);
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(slides.length - 1);
}});
show(0);
</script></body></html>
"""


def export_html(tour: T.Tour, service, findings: dict | None) -> str:
    """The whole tour as one HTML document (raises ``T.PlaceholderError`` for a caption the findings cannot fill)."""
    from plotly.offline import get_plotlyjs
    slides, figs = [], []
    for i, slide in enumerate(tour.slides):
        figures, headline = slide_figures(service, slide)
        caption = T.fill(slide.caption, findings or {}) if T.placeholders(slide.caption) else slide.caption
        figs.append([json.loads(f.to_json()) for f in figures])
        divs = "".join(f'<div id="fig-{i}-{k}"></div>' for k in range(len(figures)))
        slides.append(f'<section class="slide"><div class="caption">{caption_html(caption)}</div>'
                      f'<div class="headline">{html.escape(headline)}</div><div class="figures">{divs}</div>'
                      f'<div class="move">move {slide.at}</div></section>')
    return PAGE.format(title=html.escape(tour.title), name=html.escape(tour.name), model=html.escape(service.name),
                       hash=html.escape(service.hash), plotly=get_plotlyjs(), slides="\n".join(slides),
                       figs=json.dumps(figs, separators=(",", ":")).replace("</", "<\\/"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tour_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("tour", help="a shipped tour's name, or a tour JSON file")
    parser.add_argument("-o", "--out", required=True, help="the HTML file to write")
    parser.add_argument("--model", default="bundled")
    args = parser.parse_args(argv)
    from othello_core.analysis.service import ModelService
    path = Path(args.tour)
    try:
        tour = T.loads(path.read_text()) if path.suffix == ".json" and path.exists() else T.shipped(args.tour)
    except T.TourError as err:
        raise SystemExit(f"tour export: {err}")
    service = ModelService.load(args.model)
    findings_path = service.folder / "findings.json"
    findings = json.loads(findings_path.read_text()) if findings_path.exists() else None
    try:
        text = export_html(tour, service, findings)
    except T.PlaceholderError as err:
        raise SystemExit(f"tour export: {err}")
    Path(args.out).write_text(text)
    print(f"{tour.name}: {len(tour.slides)} slides -> {args.out} ({len(text.encode()) / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
