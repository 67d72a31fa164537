"""Present: a large board and the model's prediction, stepping with buttons or arrow keys."""

import streamlit as st

from othello_core.reports.snippets import present_snippet
from othello_core.rules.notation import square_to_name
from app import common
from app.figures import board_figure

ss = st.session_state
st.markdown("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl']"
            "{display:none}</style>", unsafe_allow_html=True)


def go(delta: int) -> None:
    ss["cursor"] = common.S.step(ss["line"], ss["cursor"], delta)


line, cursor = ss["line"], ss["cursor"]
nav = st.columns([1, 1, 1, 6])
nav[0].button("◀ Prev", key="present_prev", on_click=go, args=(-1,), disabled=cursor == 0)
nav[1].button("Next ▶", key="present_next", on_click=go, args=(1,), disabled=cursor >= len(line))
nav[2].page_link("views/play.py", label="Exit", icon=":material/close:")
nav[3].markdown(f"### Move {cursor} / {len(line)}"
                + (f" · last: {square_to_name(line[cursor - 1])}" if cursor else ""))
if not line:
    st.info("Load a game on the Play page first (random, pasted, or an eOthello game).")

game = common.game()
board = game.board
cells, legal = common.board_arrays(board)
analysis, position = common.analysed_position()
left, right = st.columns(2)
with left:
    st.plotly_chart(board_figure(cells, last_move=line[cursor - 1] if cursor else None, size=620,
                                 legal=legal),
                    key="present_board", config={"displayModeBar": False}, width="content")
with right:
    if position is not None:
        st.plotly_chart(board_figure(cells, heat=analysis.move_probs[position],
                                     legal=analysis.legal[position], size=620,
                                     title="Model: P(next move)"),
                        key="present_pred", config={"displayModeBar": False}, width="content")
common.reproduce_expander(present_snippet(line, position, common.service().name) if position is not None
                          else present_snippet(game.moves, None))

# Arrow keys click the buttons (the iframe is same-origin with the app).
st.iframe("""<script>
const doc = window.parent.document;
if (!doc.__othelloKeys) {
  doc.__othelloKeys = true;
  doc.addEventListener('keydown', (e) => {
    if (['INPUT', 'TEXTAREA'].includes(e.target.tagName)) return;
    const label = e.key === 'ArrowRight' ? 'Next' : e.key === 'ArrowLeft' ? 'Prev' : null;
    if (!label) return;
    const btn = [...doc.querySelectorAll('button')].find(b => b.innerText.includes(label));
    if (btn && !btn.disabled) btn.click();
  });
}
</script>""", height=1)
