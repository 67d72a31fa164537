"""A tour exported as one HTML file opens from disk with the network off and steps through every slide."""
import json

import pytest

from app import tour as T
from app.tour_export import caption_html, export_html, main

from .browser import chromium, chromium_path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from othello_core.analysis.service import ModelService
    service = ModelService.load("bundled")
    findings = json.loads((service.folder / "findings.json").read_text())
    out = {}
    for name in T.shipped_names():
        path = tmp_path_factory.mktemp("tours") / f"{name}.html"
        path.write_text(export_html(T.shipped(name), service, findings))
        out[name] = (path, T.shipped(name), findings)
    return out


def test_every_shipped_tour_exports_under_10_mb_with_its_captions_filled(exported):
    for name, (path, tour, findings) in exported.items():
        text = path.read_text()
        assert path.stat().st_size < 10e6, name
        assert text.count('<section class="slide">') == len(tour.slides)
        assert "<script src" not in text and "<link" not in text  # nothing loaded from elsewhere: plotly is inlined
        for slide in tour.slides:  # each caption, filled from the findings, is in the page
            assert caption_html(T.fill(slide.caption, findings)) in text


@pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed (./dev test installs it)")
def test_the_exported_file_steps_through_every_slide_offline(exported):
    path, tour, _ = exported["minimal-edit"]
    with chromium() as browser:
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 720})
        requests = []
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.goto(path.as_uri())
        for i in range(len(tour.slides)):
            page.wait_for_function(f"() => document.getElementById('where').textContent === 'slide {i + 1} / {len(tour.slides)}'")
            shown = page.locator("section.slide.shown")
            shown.locator(".main-svg").first.wait_for(timeout=20_000)  # plotly drew the slide's figures
            assert shown.locator(".js-plotly-plot").count() == 2
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Home")
        page.wait_for_function("() => document.getElementById('where').textContent.startsWith('slide 1 /')")
        assert all(u.startswith("file://") for u in requests), requests
        context.close()


def test_the_export_command_names_a_bad_tour(tmp_path):
    with pytest.raises(SystemExit, match="no shipped tour"):
        main(["no-such-tour", "-o", str(tmp_path / "x.html")])
