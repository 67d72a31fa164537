"""Othello-GPT Explorer: ``streamlit run app/streamlit_app.py`` (or ``./dev app``)."""

from app import threads  # noqa: F401 - first: MKL's thread count is read when torch loads (app.common loads it)

import streamlit as st

from app import common
from app.charts import svg_download
from app.sidebar import sidebar

st.set_page_config(page_title="Othello-GPT Explorer", page_icon="⚫", layout="wide")
common.init_state()


def pages() -> list:
    """The app's pages, made once a session: st.Page resolves its file's path on disk, and making the eleven on
    every run took about 19% of a Play click's script time (py-spy, bench/RESULTS.md). Not shared between
    sessions: st.navigation marks the page it picks on the object, and the page's run takes the mark off."""
    ss = st.session_state
    if "app_pages" not in ss:
        ss["app_pages"] = [
            st.Page("views/play.py", title="Play", icon=":material/sports_esports:", default=True),
            st.Page("views/probes.py", title="Probes", icon=":material/search:", url_path="probes"),
            st.Page("views/interventions.py", title="Interventions", icon=":material/tune:", url_path="interventions"),
            st.Page("views/circuits.py", title="Circuits", icon=":material/account_tree:", url_path="circuits"),
            st.Page("views/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
            st.Page("views/features.py", title="Features", icon=":material/scatter_plot:", url_path="features"),
            st.Page("views/graph.py", title="Graph", icon=":material/hub:", url_path="graph"),
            st.Page("views/search.py", title="Who reads a square", icon=":material/manage_search:",
                    url_path="search"),
            st.Page("views/findings.py", title="Findings", icon=":material/lightbulb:", url_path="findings"),
            st.Page("views/model.py", title="Model", icon=":material/memory:", url_path="model"),
            st.Page("views/present.py", title="Present", icon=":material/slideshow:", url_path="present"),
        ]
    return ss["app_pages"]


page = st.navigation(pages())
if page.url_path != "present":
    sidebar(page.url_path)
svg_download()
try:
    page.run()
finally:  # after the page, so what it chose this run (an edit's first square, a slide) is in the link too
    common.sync_url(page.url_path)
