"""Every chart of the app goes through ``chart``: one plotly config, whose only tool is the download, so any
figure can be saved for slides as a PNG (plotly's camera, at twice the screen's resolution) or as an SVG (a
second button beside it, added in the browser by ``svg_download``: plotly's own button takes one format)."""

from __future__ import annotations

import streamlit as st

from app.static_component import static_component

# The one tool in the toolbar: plotly's camera. A line chart still zooms on a drag (a double click resets it);
# a board does not (its layout sets dragmode False: it is clicked, not dragged).
CONFIG = {"displaylogo": False, "modeBarButtons": [["toImage"]],
          "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "othello-gpt"}}


def chart(fig, key: str, where=None, **kwargs):
    """``st.plotly_chart`` (in the container ``where``, else where the page is) with the app's config
    (``config=`` entries are added over it, e.g. staticPlot for a thumbnail with no tool at all); returns what
    ``st.plotly_chart`` returns (the selection event)."""
    return (where or st).plotly_chart(fig, key=key, config=CONFIG | kwargs.pop("config", {}), **kwargs)


# beside each camera, an "SVG" button (app/static/svg_download.js)
_svg_download = static_component("othello_svg_download", "svg_download.js")


def svg_download() -> None:
    """Mount the SVG buttons' script once a run (it installs itself once per browser tab)."""
    with st.sidebar:
        _svg_download(key="svg_download")
