"""The browser window's size, reported by a few lines of JavaScript (Streamlit's components v2: inline, no
build step, no network), so Present can size its boards and text for the projector it is shown on."""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { setStateValue } = component;
  const send = () => setStateValue('size', [window.innerWidth, window.innerHeight]);
  send();
  let timer;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(send, 250); });
}
"""
_viewport = st.components.v2.component("othello_viewport", js=_JS)


def viewport_size() -> tuple[int, int] | None:
    """(width, height) of the browser window in CSS pixels; None until the browser has reported it (the first
    run of a page), and in tests without a browser."""
    size = _viewport(key="viewport", on_size_change=lambda: None).size
    if not size or len(size) != 2:
        return None
    return int(size[0]), int(size[1])
