"""A small chart drawn on the server as SVG and shown as it is by the browser (Streamlit's components v2, code in
``app/static/live_svg.js``: no build step), with the PNG and SVG download buttons every chart has
(``app/static/tools.js``, the live board's too).

For a chart redrawn on every click, where plotly's render costs the browser more than the rest of the run: the
legal strip under Play's boards took 55-70 ms of every Play click (bench/RESULTS.md, an A/B with the strip left
out); this draws it with no library. The drawing is redrawn only when its text changes.
"""

from __future__ import annotations

import streamlit as st

from app.static_component import static_component


def tools_css(root: str) -> str:
    """The download buttons' style under a component's root element (shown while the pointer is over it)."""
    return f"""
{root} .tools {{ position: absolute; top: 0; right: 0; display: flex; gap: 2px; opacity: 0; transition: opacity .2s; }}
{root}:hover .tools {{ opacity: 1; }}
{root} .tools button {{ font: 600 10px sans-serif; color: rgba(68, 68, 68, .6); background: #fff;
                        border: 1px solid #ddd; border-radius: 3px; padding: 1px 4px; cursor: pointer; }}
"""


_CSS = ".live-svg { position: relative; } .live-svg svg { display: block; width: 100%; height: auto; }" + tools_css(
    ".live-svg")

_live_svg = static_component("othello_live_svg", "live_svg.js", css=_CSS)


def live_svg(svg: str, key: str, what: str = "chart") -> None:
    """Show ``svg`` (one ``<svg>`` element, scaled to the width of its place) under the element key ``key``;
    ``what`` names it in the download buttons' titles. The browser inserts it as markup: only SVG this app builds
    (numbers and its own text, any other text escaped), never text a visitor typed."""
    _live_svg(key=key, data={"svg": svg, "what": what}, width="stretch")
