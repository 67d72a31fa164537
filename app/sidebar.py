"""The sidebar every page shares: model panel, the moves so far, step controls."""

import streamlit as st

from othello_core.rules.notation import format_moves
from othello_core.rules.user_input import escape_markdown, shown
from app import common
from app import state as S
from app.tour_panel import tour_panel


def _pick_model() -> None:
    """The selector or the path box changed: that source is wanted (tried before the panel is drawn)."""
    ss = st.session_state
    ss["model"] = ss["model_path"].strip() or ss["model_select"]
    ss.pop("model_error", None)  # a new choice: the last failure's warning goes


def model_panel() -> None:
    ss = st.session_state
    svc = common.service()  # first: a source that fails falls back to the bundled model before the selector is drawn
    current = ss.get("model", common.DEFAULT_MODEL)
    choices = list(common.MODEL_CHOICES)
    if current not in choices:
        choices.append(current)
    ss["model_select"] = current  # the selector (and the link) show the model that is live
    if current in common.MODEL_CHOICES:
        ss["model_path"] = ""
    st.selectbox("Model", choices, key="model_select", on_change=_pick_model,
                 help="bundled: trained by this project, ships in assets/. synthetic / "
                      "championship: the paper's weights (need the file or internet).")
    st.text_input("…or a checkpoint under the model folders", key="model_path", max_chars=1000,
                  placeholder="assets/models/<run folder or .pth>", on_change=_pick_model,
                  help=f"This server loads {common.source_policy().describe()}.")
    failed = ss.get("model_error")
    if failed:
        st.warning(f"**{shown(failed[0])}** could not be loaded, so the bundled model is live.\n\n"
                   f"{escape_markdown(failed[1])}")
    info = svc.info
    if info["unverified"]:
        st.warning("Unverified weights: this folder's config.json records no weights hash, so nothing "
                   "vouches that the files are the ones its run wrote.", icon=":material/gpp_maybe:")
    st.caption(f"Live: **{shown(info['name'], 60)}** · {info['parameters']:,} params · {info['n_layers']} layers × "
               f"{info['n_heads']} heads · d_model {info['d_model']} · {info['device']} · "
               f"hash `{info['hash']}`" + ("" if info["probes"] else " · no probes"))


def _set_cursor(value: int) -> None:
    ss = st.session_state
    ss["cursor"] = S.step(ss["line"], 0, value)  # clamped to the line


def step_controls() -> None:
    """Start / back / forward / end buttons (the Home, Left, Right and End keys press them on every page;
    Streamlit leaves keys typed into a text box alone) and a slider, all moving the shared cursor."""
    ss = st.session_state
    line, cursor = ss["line"], ss["cursor"]
    row = st.container(horizontal=True, wrap=False)  # one block a run, where 4 columns were 5
    row.button("", icon=":material/first_page:", help="start position", disabled=cursor == 0, key="sb_start", width="stretch", shortcut="Home",
                   on_click=_set_cursor, args=(0,))
    row.button("", icon=":material/undo:", help="undo / step back", disabled=cursor == 0, key="sb_undo", width="stretch", shortcut="Left",
                   on_click=_set_cursor, args=(cursor - 1,))
    row.button("", icon=":material/redo:", help="redo / step forward", disabled=cursor >= len(line), key="sb_redo", width="stretch", shortcut="Right",
                   on_click=_set_cursor, args=(cursor + 1,))
    row.button("", icon=":material/last_page:", help="end of the line", disabled=cursor >= len(line), key="sb_end", width="stretch", shortcut="End",
                   on_click=_set_cursor, args=(len(line),))
    if line:
        ss["sb_slider"] = cursor
        st.slider("Position (moves played)", 0, len(line), key="sb_slider",
                  on_change=lambda: _set_cursor(ss["sb_slider"]))
    shown = format_moves(line[:cursor], sep=" ") or "(start position)"
    st.caption(f"**{cursor}/{len(line)}** moves: `{shown}`")


def sidebar(url_path: str) -> None:
    with st.sidebar:
        st.markdown("### Othello-GPT Explorer")
        model_panel()
        st.divider()
        step_controls()
        st.divider()
        tour_panel(url_path)
