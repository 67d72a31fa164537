"""Every chart of the app goes through ``chart``: one plotly config, whose only tool is the download, so any
figure can be saved for slides as a PNG (plotly's camera, at twice the screen's resolution) or as an SVG (a
second button beside it, added in the browser by ``svg_download``: plotly's own button takes one format)."""

from __future__ import annotations

import streamlit as st

# The one tool in the toolbar: plotly's camera. A line chart still zooms on a drag (a double click resets it);
# a board does not (its layout sets dragmode False: it is clicked, not dragged).
CONFIG = {"displaylogo": False, "modeBarButtons": [["toImage"]],
          "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "othello-gpt"}}


def chart(fig, key: str, where=None, **kwargs):
    """``st.plotly_chart`` (in the container ``where``, else where the page is) with the app's config
    (``config=`` entries are added over it, e.g. staticPlot for a thumbnail with no tool at all); returns what
    ``st.plotly_chart`` returns (the selection event)."""
    return (where or st).plotly_chart(fig, key=key, config=CONFIG | kwargs.pop("config", {}), **kwargs)


# Beside each camera, an "SVG" button: it asks plotly's own download for the SVG format for one click
# (plotly reads gd._context.toImageButtonOptions when clicked) and puts the PNG setting back.
_JS = """
export default function(component) {
  if (window.__othelloSvgDownload) return;
  window.__othelloSvgDownload = true;
  const ICON = '<svg viewBox="0 0 26 14" width="26" height="14"><text x="1" y="11" font-size="10" '
             + 'font-family="sans-serif" font-weight="bold" fill="currentColor">SVG</text></svg>';
  const add = (gd) => {
    const camera = gd.querySelector('.modebar-btn[data-title^="Download plot"]');
    if (!camera || !gd._context || camera.parentElement.querySelector('.othello-svg')) return;
    const svg = document.createElement('a');
    svg.className = camera.className + ' othello-svg';
    svg.setAttribute('rel', 'tooltip');
    svg.setAttribute('data-title', 'Download plot as an SVG');
    svg.innerHTML = ICON;
    svg.style.color = 'rgba(68, 68, 68, 0.5)';
    svg.addEventListener('click', (event) => {
      event.preventDefault();
      const options = gd._context.toImageButtonOptions;
      gd._context.toImageButtonOptions = Object.assign({}, options, {format: 'svg'});
      try { camera.click(); } finally { gd._context.toImageButtonOptions = options; }
    });
    camera.after(svg);
  };
  let timer;
  const scan = () => { clearTimeout(timer); timer = setTimeout(
    () => document.querySelectorAll('.js-plotly-plot').forEach(add), 150); };
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
  scan();
}
"""
_svg_download = st.components.v2.component("othello_svg_download", js=_JS)


def svg_download() -> None:
    """Mount the SVG buttons' script once a run (it installs itself once per browser tab)."""
    with st.sidebar:
        _svg_download(key="svg_download")
