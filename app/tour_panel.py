"""The sidebar's tour editor, on every page but Present: add the current state as a slide, reorder and
delete slides, download or upload the tour as JSON, open a shipped tour, present it."""

from __future__ import annotations

import streamlit as st

from app import common, view_state
from app import tour as T

ss = st.session_state


def current() -> T.Tour:
    return ss.get("tour") or T.Tour("my-tour", "My tour")


def _store(tour: T.Tour) -> None:
    ss["tour"], ss["tour_shipped"] = tour, None  # edited: no longer the shipped tour a link names
    ss["slide"] = min(ss.get("slide", 0), max(0, len(tour.slides) - 1))


def _add(url_path: str) -> None:
    params = common.query_state()
    view = view_state.for_page(url_path, ss.get("view"))
    params.update(view_state.to_query(view))
    try:
        slide = T.slide_from_state(params["moves"], ss["cursor"], view.view, url_path, params,
                                   ss.get("tour_caption", ""))
        _store(T.add(current(), slide))
        ss["tour_caption"] = ""
        ss.pop("tour_error", None)
    except T.TourError as err:
        ss["tour_error"] = str(err)


def _edit(change, *args) -> None:
    _store(change(current(), *args))


def _upload() -> None:
    upload = ss.get("tour_upload")
    if upload is None:
        return
    try:
        _store(T.loads(upload.getvalue()))
        ss.pop("tour_error", None)
    except T.TourError as err:
        ss["tour_error"] = f"{upload.name[:80]}: {err}"


def _open_shipped() -> None:
    name = ss.get("tour_shipped_pick")
    if name:
        tour = T.shipped(name)
        ss["tour"], ss["tour_shipped"], ss["slide"] = tour, tour.name, 0


def _html(tour: T.Tour) -> str:
    """The tour as one offline HTML file (built when the button is pressed)."""
    import json

    from app.tour_export import export_html
    svc = common.service()
    path = svc.folder / "findings.json"
    findings = json.loads(path.read_text()) if path.exists() else None
    try:
        return export_html(tour, svc, findings)
    except T.PlaceholderError as err:
        return f"<!doctype html><p>This tour cannot be exported: {err}</p>"


def tour_panel(url_path: str) -> None:
    tour = current()
    # a stable key (and on_change): adding a slide changes the label, and must not fold the panel away
    # its contents are drawn only while it is open: a click on any page re-renders every element drawn
    box = st.expander(f"Tour · {len(tour.slides)} slide{'s' * (len(tour.slides) != 1)}", icon=":material/slideshow:",
                      key="tour_panel", on_change="rerun", expanded=bool(ss.get("tour_panel")))
    if not box.open:
        return
    with box:
        s1, s2 = st.columns([3, 1])
        s1.selectbox("Shipped tours", T.shipped_names(), index=None, key="tour_shipped_pick",
                     placeholder="open a shipped tour…", label_visibility="collapsed")
        s2.button("Open", key="tour_open", on_click=_open_shipped)
        st.text_area("Caption of the next slide", key="tour_caption", max_chars=T.MAX_CAPTION, height=70,
                     help="Markdown. Quote findings as placeholders, filled when shown: "
                          "{probes.figures.best_layer} or {probes.figures.best_linear_mine_theirs:.1%}.")
        st.button("Add current state as slide", key="tour_add", icon=":material/add:", on_click=_add,
                  args=(url_path,))
        if ss.get("tour_error"):
            st.error(ss["tour_error"])
        for i, slide in enumerate(tour.slides):
            c = st.columns([5, 1, 1, 1], vertical_alignment="center")
            c[0].caption(f"{i + 1}. {view_state.VIEW_LABELS[slide.view]} · move {slide.at}")
            c[1].button("", icon=":material/arrow_upward:", key=f"tour_up_{i}", help="earlier",
                        disabled=i == 0, on_click=_edit, args=(T.move, i, -1))
            c[2].button("", icon=":material/arrow_downward:", key=f"tour_down_{i}", help="later",
                        disabled=i == len(tour.slides) - 1, on_click=_edit, args=(T.move, i, 1))
            c[3].button("", icon=":material/delete:", key=f"tour_delete_{i}", help="delete",
                        on_click=_edit, args=(T.delete, i))
        d1, d2 = st.columns(2)
        d1.download_button("Download", T.dumps(tour), file_name=f"{tour.name}.json", mime="application/json",
                           key="tour_download", icon=":material/download:", disabled=not tour.slides)
        st.download_button("Offline HTML (for attendees)", lambda: _html(tour), file_name=f"{tour.name}.html",
                           mime="text/html", key="tour_html", icon=":material/public_off:", disabled=not tour.slides,
                           help="One file with every slide drawn, plotly inlined: opens in any browser with no "
                                "server and no network; arrow keys step through it.")
        if d2.button("Present", key="tour_present", icon=":material/slideshow:", disabled=not tour.slides):
            ss["touring"] = True
            common.go_to_slide(0)
            st.switch_page("views/present.py")
        st.file_uploader("Upload a tour (JSON)", type="json", key="tour_upload", on_change=_upload)
