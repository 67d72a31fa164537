"""Present: for a reading group, large. The board and one chosen view, stepping through the game
(or a tour's slides) with Prev/Next or the arrow keys; no sidebar."""

import json

import streamlit as st

from othello_core.reports import tl_snippets
from othello_core.reports.snippets import present_snippet
from othello_core.rules.hooks import block_label, stream_label
from othello_core.rules.user_input import escape_markdown
from app import common, present_data, present_views
from app.viewport import viewport_size
from app import tour as T
from app.view_state import PROBE_METHODS, PROBES, VIEW_LABELS, VIEWS, ViewSpec

ss = st.session_state
st.markdown("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],[data-testid='stHeader']"
            "{display:none}[data-testid='stMainBlockContainer']{padding-top:0.75rem;padding-bottom:0.5rem}"
            "[data-testid='stMarkdownContainer'] p{font-size:1.3rem;line-height:1.4}</style>",
            unsafe_allow_html=True)
px_ = present_data.present_sizes(viewport_size(), (ss.get("view") or ViewSpec()).view)
if ss.get("flash_error"):
    st.error(ss.pop("flash_error"))


@st.cache_data(max_entries=8, show_spinner=False)
def findings(path: str, mtime: float) -> dict:
    return json.loads(open(path).read())


def step(delta: int, touring: bool) -> None:
    if touring:
        common.go_to_slide(ss["slide"] + delta)
    else:
        ss["cursor"] = common.S.step(ss["line"], ss["cursor"], delta)


def leave_tour() -> None:
    ss["touring"] = False


tour = ss.get("tour")
touring = bool(ss.get("touring") and tour and tour.slides)
line, cursor = ss["line"], ss["cursor"]
at_start = ss["slide"] == 0 if touring else cursor == 0
at_end = ss["slide"] == len(tour.slides) - 1 if touring else cursor >= len(line)
buttons, where = st.columns([2, 3], vertical_alignment="center")
with buttons.container(horizontal=True, gap="small"):  # buttons sized to their labels: none truncates
    st.button("◀ Prev", key="present_prev", on_click=step, args=(-1, touring), disabled=at_start, shortcut="Left",
              width="content")
    st.button("Next ▶", key="present_next", on_click=step, args=(1, touring), disabled=at_end, shortcut="Right",
              width="content")
    if touring:
        st.button("Leave tour", key="present_leave", icon=":material/close:", on_click=leave_tour, width="content")
    else:
        st.page_link("views/play.py", label="Exit", icon=":material/close:")
if touring:
    where.markdown(f"#### {escape_markdown(tour.title)} · slide {ss['slide'] + 1} / {len(tour.slides)} · "
                   f"move {cursor} / {len(line)}")
else:
    where.markdown(f"#### Move {cursor} / {len(line)}")

svc = common.service()
analysis, position = common.analysed_position()
n_heads = analysis.patterns.shape[1] if analysis is not None else 1
spec = ss.get("view") or ViewSpec()
# A slide sets these widgets from its link; keyed by the slide, a widget drawn for one slide never reports into
# another (a report the browser sent before it drew the new slide once put slide 1's view back on slide 2).
keys = {k: f"{k}_{ss['slide']}" if touring else k for k in ("present_view_pick", "present_layer", "present_block",
                                                          "present_head", "present_probe", "present_method")}
drawn_slide = ss.get("slide")


def on_this_slide(update):
    """A widget's callback that acts only while the slide it was drawn on is shown."""
    return lambda: update() if not touring or ss.get("slide") == drawn_slide else None


with st.expander("View: what to show beside the board", expanded=False):
    v1, v2, v3 = st.columns([3, 2, 1])
    ss[keys["present_view_pick"]] = spec.view
    v1.radio("Show beside the board", VIEWS, format_func=VIEW_LABELS.get, horizontal=True,
             key=keys["present_view_pick"],
             on_change=on_this_slide(lambda: ss.update(view=spec.with_(view=ss[keys["present_view_pick"]]))))
    layer = ss.get("layer") if ss.get("layer") is not None else (svc.n_layers * 3) // 4  # a stream
    if spec.view == "probe":
        layer = min(layer, svc.n_layers)
        ss[keys["present_layer"]] = layer
        v2.select_slider("Probe the stream", list(range(svc.n_layers + 1)), format_func=stream_label,
                         key=keys["present_layer"],
                         on_change=on_this_slide(lambda: ss.update(layer=ss[keys["present_layer"]])))
    elif spec.view == "attention":
        ss[keys["present_block"]] = present_data.attention_block(layer, svc.n_layers)
        v2.select_slider("Layer", list(range(svc.n_layers)), format_func=block_label, key=keys["present_block"],
                         on_change=on_this_slide(lambda: ss.update(layer=ss[keys["present_block"]] + 1)))
    if spec.view == "attention":
        ss[keys["present_head"]] = min(spec.head, n_heads - 1)
        v3.selectbox("Head", list(range(n_heads)), key=keys["present_head"],
                     on_change=on_this_slide(lambda: ss.update(view=spec.with_(head=ss[keys["present_head"]]))))
    if spec.view == "probe":
        ss[keys["present_probe"]] = spec.probe
        v3.selectbox("Probe", PROBES, key=keys["present_probe"], format_func=lambda k: k.replace("_", "/"),
                     on_change=on_this_slide(lambda: ss.update(view=spec.with_(probe=ss[keys["present_probe"]]))))
        ss[keys["present_method"]] = spec.method
        v3.segmented_control(
            "Method", PROBE_METHODS, key=keys["present_method"],
            on_change=on_this_slide(lambda: ss.update(view=spec.with_(method=ss[keys["present_method"]] or "linear"))))

if touring:
    caption = tour.slides[ss["slide"]].caption
    path = svc.folder / "findings.json"
    try:
        values = findings(str(path), path.stat().st_mtime) if T.placeholders(caption) else {}
        st.markdown(T.fill(caption, values))
    except FileNotFoundError:
        st.error(f"This slide quotes findings, and {svc.name} has none: run `python -m othello_core findings "
                 f"--model {svc.name}` or switch to the bundled model.")
    except T.PlaceholderError as err:
        st.error(escape_markdown(str(err)))

if not line:
    st.info("Load a game on the Play page first (random, pasted, or an eOthello game), or open a tour.")
game = common.game()
cells, legal = common.board_arrays(game.board)
present_views.show(spec, svc, analysis, position, cells, legal, line[cursor - 1] if cursor else None, layer, px_)
if position is not None:
    common.reproduce_expander(present_snippet(line, position, svc.name),
                              tl_snippets.play_snippet(line, position, svc.name))
else:
    common.reproduce_expander(present_snippet(game.moves, None))
