"""A small chart drawn on the server as SVG and shown as it is by the browser (Streamlit's components v2: inline,
no build step), with the PNG and SVG download buttons every chart has (the live board's, ``TOOLS_JS``).

For a chart redrawn on every click, where plotly's render costs the browser more than the rest of the run: the
legal strip under Play's boards took 55-70 ms of every Play click (bench/RESULTS.md, an A/B with the strip left
out); this draws it with no library. The drawing is redrawn only when its text changes.
"""

from __future__ import annotations

import streamlit as st


def tools_css(root: str) -> str:
    """The download buttons' style under a component's root element (shown while the pointer is over it)."""
    return f"""
{root} .tools {{ position: absolute; top: 0; right: 0; display: flex; gap: 2px; opacity: 0; transition: opacity .2s; }}
{root}:hover .tools {{ opacity: 1; }}
{root} .tools button {{ font: 600 10px sans-serif; color: rgba(68, 68, 68, .6); background: #fff;
                        border: 1px solid #ddd; border-radius: 3px; padding: 1px 4px; cursor: pointer; }}
"""


# tools(svg, what): a bar of two buttons that download what the SVG shows, as the plotly charts' camera and SVG
# buttons do (app/charts.py): an SVG, or a PNG at 2x its size on the page.
TOOLS_JS = """
function tools(svg, what = 'board') {
  const bar = document.createElement('div');
  bar.className = 'tools';
  const save = (blob, name) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const text = () => new XMLSerializer().serializeToString(svg);
  const button = (label, title, act) => {
    const b = document.createElement('button');
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', act);
    bar.appendChild(b);
  };
  button('PNG', `Download the ${what} as a PNG`, () => {
    const box = svg.getBoundingClientRect(), w = box.width, h = box.height, img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = 2 * w;
      canvas.height = 2 * h;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.scale(2, 2);
      ctx.drawImage(img, 0, 0, w, h);
      canvas.toBlob((blob) => save(blob, 'othello-gpt.png'), 'image/png');
    };
    const sized = svg.cloneNode(true);  // an image needs a size in pixels: the one drawn on the page
    sized.setAttribute('width', w);
    sized.setAttribute('height', h);
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(sized));
  });
  button('SVG', `Download the ${what} as an SVG`,
         () => save(new Blob([text()], {type: 'image/svg+xml'}), 'othello-gpt.svg'));
  return bar;
}
"""

_JS = TOOLS_JS + """
export default function(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector('.live-svg');
  if (!root) {
    root = document.createElement('div');
    root.className = 'live-svg';
    parentElement.appendChild(root);
  }
  if (root.drawn === data.svg) return;
  root.drawn = data.svg;
  const holder = document.createElement('div');
  holder.innerHTML = data.svg;
  const svg = holder.querySelector('svg');
  root.replaceChildren(svg, tools(svg, data.what));
}
"""

_CSS = ".live-svg { position: relative; } .live-svg svg { display: block; width: 100%; height: auto; }" + tools_css(
    ".live-svg")

_live_svg = st.components.v2.component("othello_live_svg", js=_JS, css=_CSS)


def live_svg(svg: str, key: str, what: str = "chart") -> None:
    """Show ``svg`` (one ``<svg>`` element, scaled to the width of its place) under the element key ``key``;
    ``what`` names it in the download buttons' titles. The browser inserts it as markup: only SVG this app builds
    (numbers and its own text, any other text escaped), never text a visitor typed."""
    _live_svg(key=key, data={"svg": svg, "what": what}, width="stretch")
