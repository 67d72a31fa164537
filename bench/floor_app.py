"""The floor: a bare Streamlit app holding one clickable 8x8 plotly board and nothing else (no model,
no sidebar, no link). ``bench/bench_floor.py`` measures the dashboard's pages against it.

    streamlit run bench/floor_app.py

A click plays the move (the rules only) through the chart's ``on_select`` callback, so each click is one
script run; the board's element key names the position (``.st-key-floor_{moves}``), as the Play page's does.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # othello_core, when run from anywhere

import plotly.graph_objects as go
import streamlit as st

from othello_core.rules.board import replay
from othello_core.rules.notation import square_to_name

ss = st.session_state
ss.setdefault("line", ())


def on_click() -> None:
    points = (ss[f"floor_{len(ss['line'])}"] or {}).get("selection", {}).get("points", [])
    if points:
        square = int(points[0]["customdata"])
        if replay(ss["line"]).board.legal_mask() >> square & 1:
            ss["line"] = ss["line"] + (square,)


board = replay(ss["line"]).board
squares = list(range(64))
x, y = [s % 8 for s in squares], [s // 8 for s in squares]
cell = {1: "black", -1: "white"}
legal = board.legal_mask()
fig = go.Figure([
    go.Scatter(x=x, y=y, mode="markers", customdata=squares, text=[square_to_name(s) for s in squares],
               hovertemplate="%{text}<extra></extra>",
               marker=dict(symbol="square", size=44, color=["#ffb300" if legal >> s & 1 else "#2e7d4f" for s in squares]),
               selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))),
    go.Scatter(x=[s % 8 for s in squares if board.cell(s)], y=[s // 8 for s in squares if board.cell(s)],
               mode="markers", hoverinfo="skip", marker=dict(size=34, color=[cell[board.cell(s)] for s in squares
                                                                            if board.cell(s)])),
])
fig.update_layout(width=420, height=420, showlegend=False, dragmode=False, clickmode="event+select",
                  margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                  xaxis=dict(range=[-0.5, 7.5], fixedrange=True, showticklabels=False),
                  yaxis=dict(range=[7.5, -0.5], fixedrange=True, showticklabels=False))
st.markdown(f"**{len(ss['line'])} moves**")
st.plotly_chart(fig, key=f"floor_{len(ss['line'])}", on_select=on_click, selection_mode="points",
                width="content", config={"displayModeBar": False})
