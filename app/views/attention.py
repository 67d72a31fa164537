"""Attention: circuitsvis patterns for one layer (offline), and who each head attends to."""

import numpy as np
import streamlit as st

from othello_core.analysis.attention import mover_share
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import attention_snippet
from othello_core.rules.hooks import attn_pattern, block_label
from othello_core.rules.notation import MODEL_CONTEXT, square_to_name
from app.charts import chart
from app import common
from app.present_data import attention_block
from app.figures import head_summary_figure

ss = st.session_state
st.title("Attention")
analysis = common.current_analysis()
if analysis is None:
    st.info("Play or paste some moves first.")
    st.stop()

svc = common.service()
n_layers = svc.n_layers
# the shared layer is a stream; its heads are those of the block writing it (embed: L0)
ss["attn_layer"] = attention_block(ss.get("layer") or 0, n_layers)
layer = st.select_slider("Layer", list(range(n_layers)), format_func=block_label, key="attn_layer",
                         on_change=lambda: ss.update(layer=ss["attn_layer"] + 1))
ss["layer"] = layer + 1
n = analysis.patterns.shape[-1]
upto = min(max(ss["cursor"], 1), n)
labels = [f"{i + 1}:{square_to_name(m)}" for i, m in enumerate(analysis.moves[:MODEL_CONTEXT])]


@st.cache_data(max_entries=32, show_spinner="Rendering attention patterns…")
def attention_html(pattern_bytes: bytes, shape: tuple, tokens: tuple, layer: int) -> str:
    import circuitsvis as cv  # here: slow to import, and only this tab draws with it
    pattern = np.frombuffer(pattern_bytes, dtype=np.float32).reshape(shape)
    html = cv.attention.attention_heads(attention=pattern, tokens=list(tokens),
                                        attention_head_names=[f"L{layer}H{h}" for h in range(shape[0])])
    return html.local_src  # JavaScript inlined: renders without internet


pattern = np.ascontiguousarray(analysis.patterns[layer, :, :upto, :upto], dtype=np.float32)
html = attention_html(pattern.tobytes(), pattern.shape, tuple(labels[:upto]), layer)
st.caption(f"L{layer} (`{attn_pattern(layer)}`), all {pattern.shape[0]} heads, moves 1–{upto}. Hover a head, then a "
           "token: query positions attend to earlier moves.")
st.iframe(html, height="content")  # as tall as circuitsvis draws it, for any number of moves

st.subheader("Does each head look at the mover's moves or the opponent's?")
share = mover_share(analysis.patterns, analysis.to_move, analysis.moves)
chart(head_summary_figure(share), key="head_summary")
st.caption("Share of each head's attention (averaged over this game's positions) that lands on "
           "moves played by the player about to move, versus the opponent. Blue: mostly the "
           "mover's own moves; red: mostly the opponent's.")
common.reproduce_expander(attention_snippet(analysis.moves, layer, upto, svc.name),
                          tl_snippets.attention_snippet(analysis.moves, layer, upto, svc.name))
