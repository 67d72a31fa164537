"""End to end in a real browser: Debian's chromium driven by playwright, the app on loopback."""
import numpy as np
import pytest

from othello_core.rules.notation import name_to_square

from .browser import (ARTIFACTS, chromium, chromium_path, play_board, press_square, streamlit_server, wait_for_app,
                      wait_for_board)

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="Debian's chromium is not installed (./dev test installs it)")


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, request):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    page.close()


def status(page) -> str:
    return page.locator('[data-testid="stMarkdownContainer"] strong').first.inner_text()


def click_square(page, name: str, moves: int) -> None:
    """Press ``name`` on the Play board of the position after ``moves`` moves."""
    board = play_board(moves)
    wait_for_board(page, board)
    press_square(page, name_to_square(name), board)


def test_clicking_legal_squares_plays_moves(server, page):
    page.goto(server + "/")
    wait_for_app(page)
    wait_for_board(page, play_board(0))
    assert status(page).startswith("Black to move")
    click_square(page, "d3", moves=0)
    page.wait_for_function("() => document.body.innerText.includes('White to move')", timeout=60_000)
    click_square(page, "c3", moves=1)
    page.wait_for_function("() => document.body.innerText.includes('2/2 moves')", timeout=60_000)
    wait_for_app(page)  # the link is written when the run ends
    assert "moves=d3c3" in page.url
    page.wait_for_function("() => document.body.innerText.includes('Top-1:')", timeout=60_000)  # the prediction


def test_an_illegal_paste_shows_the_error_and_keeps_the_position(server, page):
    page.goto(server + "/?moves=f5d6")
    wait_for_app(page)
    box = page.locator('[data-testid="stForm"] textarea[aria-label="Paste moves"]')  # the sidebar has a textarea too
    box.fill("f5 d6 c3 h8")
    page.get_by_role("button", name="Load moves").click()
    page.wait_for_function("() => document.body.innerText.includes('flips nothing')", timeout=60_000)
    body = page.inner_text("body")
    assert "Move 4 (“h8”)" in body
    assert "2/2 moves" in body and "moves=f5d6" in page.url


def test_a_shared_url_reopens_the_position(server, page):
    page.goto(server + "/?moves=f5d6c3d3&at=3")
    wait_for_app(page)
    page.wait_for_function("() => document.body.innerText.includes('3/4 moves')", timeout=60_000)
    assert status(page).startswith("Black to move") is False and "White to move" in status(page)


def test_attention_patterns_render_offline(server, page):
    page.goto(server + "/attention?moves=f5d6c3d3c4f4")
    wait_for_app(page)
    frame_el = page.wait_for_selector('iframe[title="st.iframe"], [data-testid="stIFrame"]', timeout=90_000)
    frame = frame_el.content_frame()
    # circuitsvis draws one pattern per head; with its JS inlined it renders with no network
    frame.wait_for_function("() => document.querySelectorAll('canvas, svg, table').length > 0",
                            timeout=60_000)
    assert "L0H0" in frame.inner_text("body")


def test_circuits_and_findings_pages_render(server, page):
    page.goto(server + "/circuits?moves=f5d6c3d3c4f4")
    wait_for_app(page)
    page.wait_for_function("() => document.body.innerText.includes('Contributions + unembedding bias')",
                           timeout=90_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)  # the DLA bars
    page.goto(server + "/findings?moves=f5d6")
    wait_for_app(page)
    page.wait_for_function("() => document.body.innerText.includes('(f) Where the board fades')", timeout=90_000)
    body = page.inner_text("body")
    assert "python -m othello_core" in body and "(d) A small circuit" in body


def test_an_illegal_click_explains_why(server, page):
    page.goto(server + "/?moves=f5")
    wait_for_app(page)
    click_square(page, "a1", moves=1)
    page.wait_for_function("() => document.body.innerText.includes('a1 flips nothing for white')", timeout=60_000)
    assert "1/1 moves" in page.inner_text("body")  # the position is unchanged


def test_presentation_steps_with_the_arrow_keys(server, page):
    page.goto(server + "/present?moves=f5d6c3d3c4f4c5b3&at=6")
    wait_for_app(page)
    wait_for_board(page, '.st-key-present_board .nsewdrag')
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.body.innerText.includes('Move 7 / 8')", timeout=60_000)
    wait_for_app(page)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.body.innerText.includes('Move 6 / 8')", timeout=60_000)



@pytest.mark.parametrize("path", ["/", "/probes", "/graph"])
def test_arrow_keys_step_the_game_on_every_page_but_not_while_typing(server, page, path):
    page.goto(server + path + "?moves=f5d6c3d3c4f4&at=4")
    wait_for_app(page, 180_000)
    page.wait_for_function("() => document.body.innerText.includes('4/6 moves')", timeout=60_000)
    page.locator(".st-key-sb_redo button").first.wait_for()  # the shortcuts' buttons are drawn
    wait_for_app(page, 180_000)
    page.mouse.click(700, 8)  # focus the page (its top strip), not a widget
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.body.innerText.includes('5/6 moves')", timeout=180_000)
    wait_for_app(page, 180_000)
    page.keyboard.press("Home")
    page.wait_for_function("() => document.body.innerText.includes('0/6 moves')", timeout=60_000)
    wait_for_app(page)
    page.keyboard.press("End")
    page.wait_for_function("() => document.body.innerText.includes('6/6 moves')", timeout=60_000)
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stTextInputField"]').first.click()  # a text box
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Home")
    page.wait_for_timeout(1500)
    wait_for_app(page)
    assert "6/6 moves" in page.inner_text("body")  # keys typed into a text box only move its caret


def test_the_tour_panel_stays_open_while_slides_are_added(server, page):
    page.goto(server + "/probes?moves=f5d6c3")
    wait_for_app(page)
    page.get_by_text("Tour · 0 slides").click()
    add = page.get_by_role("button", name="Add current state as slide")
    for n in (1, 2):
        add.click()
        page.wait_for_function(f"() => document.body.innerText.includes('Tour · {n} slide')", timeout=60_000)
        wait_for_app(page)
        assert add.is_visible()  # the panel did not fold away
    assert page.locator(".st-key-tour_down_0 button").first.is_visible()  # reorder buttons for the slides


FITS = """() => {
  const box = (sel) => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect() : null; };
  const board = box('.st-key-present_board .nsewdrag'), view = box('.st-key-present_view .nsewdrag');
  const overflowing = [...document.querySelectorAll('button')].filter(b => b.offsetParent && b.scrollWidth > b.clientWidth + 1)
    .map(b => b.innerText);
  const ticks = [...document.querySelectorAll('.st-key-present_view .xtick text, .st-key-present_board .xtick text')]
    .map(t => parseFloat(getComputedStyle(t).fontSize));
  return {board, view, overflowing, minTick: Math.min(...ticks), height: window.innerHeight, width: window.innerWidth};
}"""


@pytest.mark.parametrize("width, height, min_font", [(1024, 768, 14), (1280, 720, 14), (1920, 1080, 18)])
@pytest.mark.parametrize("slide", ["probes&slide=5", "minimal-edit&slide=2"])
def test_present_fits_each_projector_without_scrolling(server, browser, width, height, min_font, slide):
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(server + f"/present?tour={slide}")
        wait_for_app(page)
        page.wait_for_selector(".st-key-present_view .nsewdrag", timeout=90_000)
        page.wait_for_timeout(1500)  # the window's size reported, the boards redrawn for it
        wait_for_app(page)
        fit = page.evaluate(FITS)
        if "edit" in slide:  # the live board as edited: its squares a1 .. h8 span the board
            corner = lambda s: page.locator(f'.st-key-present_edit_board rect[data-square="{s}"]').bounding_box()  # noqa: E731
            a1, h8 = corner(0), corner(63)
            fit["board"] = {"top": a1["y"], "bottom": h8["y"] + h8["height"], "right": h8["x"] + h8["width"],
                            "width": h8["x"] + h8["width"] - a1["x"], "height": h8["y"] + h8["height"] - a1["y"]}
            ticks = page.locator(".st-key-present_edit_board text").evaluate_all(
                "ts => ts.filter(t => /^[a-h1-8]$/.test(t.textContent)).map(t => parseFloat(getComputedStyle(t).fontSize))")
            assert len(ticks) == 16 and min(ticks) >= min_font, ticks  # the files and ranks as large as the view's
            headline = page.get_by_text("The edit changes").bounding_box()
            assert headline["y"] + headline["height"] <= height, headline  # the headline under the view too
        for name in ("board", "view"):
            rect = fit[name]
            assert rect["bottom"] <= height and rect["right"] <= width and rect["top"] >= 0, (name, rect)
            assert abs(rect["width"] - rect["height"]) <= 2, (name, rect)  # squares stay square
        assert not fit["overflowing"], fit["overflowing"]  # no button label cut off
        assert fit["minTick"] >= min_font, fit
    finally:
        page.close()


@pytest.mark.parametrize("path, params", [
    ("/probes", "probes_kind=legal&probes_class=0"),
    ("/circuits", "circuits_move=c4&circuits_tab=Neuron%20explorer&neuron_layer=5&neuron=77"),
    ("/features", "feature=11&steer_mode=add&steer_scale=-1.0"),
    ("/interventions", "edit=e4&edit_layers=L4&edit_scale=0.25"),
    ("/present", "view=probe&layer=L3&probe=blank"),
])
def test_each_pages_link_round_trips_in_a_fresh_browser(server, browser, path, params):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})  # nothing shared with other tests
    try:
        page = context.new_page()
        page.goto(f"{server}{path}?moves=f5d6c3d3c4f4c5b3&at=6&{params}")
        wait_for_app(page, 180_000)
        page.wait_for_timeout(1000)
        wait_for_app(page)
        from urllib.parse import parse_qsl, urlsplit
        back = dict(parse_qsl(urlsplit(page.url).query))
        for name, value in parse_qsl(params):
            assert back.get(name) == value, (name, back)  # the page took it and wrote it back
        assert "The link's" not in page.inner_text("body")  # nothing was refused
    finally:
        context.close()


def test_the_attention_frame_is_tall_enough_for_every_move_of_a_long_game(server, page):
    from othello_core.rules.games import random_games
    from othello_core.rules.notation import format_moves
    batch = random_games(20, seed=5)
    row = int(np.argmax(batch.lengths))  # a game of 60 moves: the model reads 59
    page.goto(server + "/attention?moves=" + format_moves(batch.squares[row, :batch.lengths[row]].tolist()))
    wait_for_app(page)
    frame_el = page.wait_for_selector('iframe[title="st.iframe"], [data-testid="stIFrame"]', timeout=90_000)
    frame = frame_el.content_frame()
    frame.wait_for_function("() => document.querySelectorAll('canvas, svg, table').length > 0", timeout=60_000)
    content = frame.evaluate("() => document.documentElement.scrollHeight")
    assert content <= frame_el.bounding_box()["height"] + 2, (content, frame_el.bounding_box())


# Every state a live board's SVG (under the element key given) takes after it is installed:
# (source, shown, cells, legal, edited squares).
RECORD_LIVE_BOARD = """(key) => { window.__states = [];
  const host = [...document.querySelectorAll(`.st-key-${key} *`)].find((e) => e.shadowRoot).shadowRoot;
  const record = () => { const svg = host.querySelector('svg');
    if (svg) window.__states.push([svg.dataset.source, Number(svg.dataset.shown), svg.dataset.cells, svg.dataset.legal,
                                   svg.dataset.edited]); };
  new MutationObserver(record).observe(host, {subtree: true, childList: true});
}"""


def test_the_live_board_paints_each_move_by_the_rules_before_the_server_draws_it(server, page):
    """20 moves of a random game clicked on Play: each click first shows the browser's painting (disc, flips,
    the next player's rings, passes) and then the server's board; the two are the same position, the rules'."""
    from othello_core.rules.board import replay
    from othello_core.rules.games import random_games
    from othello_core.rules.notation import format_moves
    from app.common import board_arrays
    from .browser import painted_board
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :20].tolist()
    page.goto(server + "/")
    for i, square in enumerate(moves):
        wait_for_board(page, play_board(i))
        page.evaluate(RECORD_LIVE_BOARD, "play_board")
        press_square(page, square, play_board(i))
        wait_for_board(page, play_board(i + 1))
        states = [s for s in page.evaluate("() => window.__states") if s[1] == i + 1]  # the new position's
        cells, legal = board_arrays(replay(moves[:i + 1]).board)
        truth = ("".join(str(int(c)) for c in cells), "".join(str(int(x)) for x in legal))
        assert states[0][:2] == ["painted", i + 1], states  # painted first, at the click, before the server's
        assert tuple(states[0][2:4]) == truth, f"the painting after {format_moves(moves[:i + 1])} breaks the rules"
        assert states[-1][:2] == ["server", i + 1] and tuple(states[-1][2:4]) == truth
    assert page.locator(painted_board(20)).count() == 1


def test_a_refused_click_on_the_live_board_keeps_the_position_and_says_why(server, page):
    from .browser import wait_for_text
    page.goto(server + "/?moves=f5d6")
    board = play_board(2)
    wait_for_board(page, board)
    before = page.locator(board).get_attribute("data-cells")
    press_square(page, name_to_square("d6"), board)  # occupied
    wait_for_text(page, "d6 is already occupied")
    wait_for_app(page)
    assert page.locator(board).get_attribute("data-cells") == before
    assert page.locator(board).get_attribute("data-source") == "server"
    assert "moves=f5d6" in page.url and "moves=f5d6d6" not in page.url


def test_no_deploy_button_or_developer_menu(server, page):
    page.goto(server + "/?moves=f5")
    wait_for_app(page)
    wait_for_board(page, play_board(1))
    assert page.get_by_text("Deploy", exact=True).count() == 0


def test_clicking_discs_edits_them_and_e_toggles_the_edit(server, page):
    from .browser import edit_board, wait_for_text
    page.goto(server + "/interventions?moves=f5d6c3d3c4f4c5b3&edit=e4&edit_layers=5")
    wait_for_app(page)
    first = edit_board("edit_board", 7, "e4")
    wait_for_board(page, first)
    unedited = page.locator(first).get_attribute("data-cells")
    page.evaluate(RECORD_LIVE_BOARD, "edit_board")
    press_square(page, name_to_square("d4"), first)  # add d4
    both = edit_board("edit_board", 7, "d4e4")
    wait_for_board(page, both)
    # painted at the click as the server then draws it; the states before are redraws of the board before the
    # click (a rerun after the recorder went in, seen in CI), which say nothing about the click
    states = page.evaluate("() => window.__states")
    clicked = next((i for i, s in enumerate(states) if s[4] == "d4e4"), None)
    assert clicked is not None, states
    assert all(s[0] == "server" and s[2] == unedited and s[4] == "e4" for s in states[:clicked]), states
    states = states[clicked:]
    assert states[0][0] == "painted" and states[-1][0] == "server", states
    assert all(s[4] == "d4e4" for s in states), states  # never back to the edit before the click
    assert states[0][2:] == states[-1][2:], states
    d4 = name_to_square("d4")
    assert {unedited[d4], states[0][2][d4]} == {"1", "2"}  # its disc drawn flipped (the edit is on)
    assert unedited[:d4] + unedited[d4 + 1:] == states[0][2][:d4] + states[0][2][d4 + 1:]
    assert "edit=d4e4" in page.url
    press_square(page, name_to_square("e4"), both)  # remove e4
    wait_for_board(page, edit_board("edit_board", 7, "d4"))
    assert "edit=d4" in page.url and "edit=d4e4" not in page.url
    squares = page.locator(".st-key-edit_squares").inner_text()
    assert "d4" in squares and "e4" not in squares  # the multiselect follows the board
    page.keyboard.press("e")
    wait_for_text(page, "Edit off")
    wait_for_app(page)
    assert "edit_on=0" in page.url
    page.keyboard.press("e")
    wait_for_text(page, "Edit on")
    # a shared link reopens the edit
    wait_for_app(page)
    shared = page.context.browser.new_page(viewport={"width": 1500, "height": 1100})  # a new session
    shared.goto(page.url)
    wait_for_app(shared)
    wait_for_board(shared, edit_board("edit_board", 7, "d4"))
    shared.close()


@pytest.mark.parametrize("view, extra, expect", [
    ("prediction", "", "Top-1:"),
    ("probe", "&layer=L5", "64 right"),
    ("edit", "&edit=e4&edit_layers=L4", "The edit changes"),
    ("attention", "&layer=2&head=2", "Head L2H2"),
])
def test_present_shows_each_view_large_without_sidebar_or_toolbar(server, page, view, extra, expect):
    from .browser import wait_for_text
    page.goto(server + f"/present?moves=f5d6c3d3c4f4c5b3&view={view}{extra}")
    wait_for_app(page)
    page.wait_for_selector(".st-key-present_view .main-svg", timeout=90_000)
    wait_for_text(page, expect)
    wait_for_app(page)  # the window's size reported, the page may have run again: measure the chart it settled on
    chart = page.locator(".st-key-present_view .main-svg").first
    chart.wait_for(state="visible", timeout=60_000)
    assert chart.bounding_box()["width"] >= 550  # large
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert page.get_by_text("Deploy", exact=True).count() == 0
    if view == "edit":
        page.keyboard.press("e")
        wait_for_text(page, "Edit off: P(move)")


def test_a_shipped_tour_by_url_steps_with_the_arrow_keys(server, page):
    from .browser import press_until, wait_for_text
    page.goto(server + "/present?tour=probes")
    wait_for_app(page)
    wait_for_text(page, "slide 1 / 5")
    page.locator(".st-key-present_next button").first.wait_for()  # the shortcut's button is drawn
    wait_for_app(page)  # and the rerun the window's size report starts is over
    page.mouse.click(700, 8)  # focus the page (its top strip), not a widget: a key pressed before went astray
    press_until(page, "ArrowRight", "slide 2 / 5")
    wait_for_app(page)
    assert "slide=2" in page.url and "view=probe" in page.url
    wait_for_text(page, "of cells after L5")  # the caption, its figures filled from findings.json
    assert "{" not in page.locator('[data-testid="stMarkdownContainer"]').all_inner_texts().__str__()
    page.keyboard.press("ArrowRight")
    wait_for_text(page, "slide 3 / 5")
    wait_for_app(page)
    page.keyboard.press("ArrowLeft")
    wait_for_text(page, "slide 2 / 5")


def test_every_chart_downloads_as_png_and_as_svg(server, page):
    """Plotly's camera saves a PNG; the SVG button beside it (app/charts.py) saves the same chart as an SVG. On a
    line chart too the download is the only tool (a drag still zooms it)."""
    page.goto(server + "/probes?moves=f5d6c3d3c4")
    wait_for_app(page)
    chart = page.locator(".st-key-accuracy_curves .js-plotly-plot").first
    chart.hover()
    svg_button = page.locator(".st-key-accuracy_curves .othello-svg")
    svg_button.wait_for(state="attached", timeout=30_000)
    with page.expect_download(timeout=30_000) as png:
        page.locator('.st-key-accuracy_curves .modebar-btn[data-title^="Download plot"]').first.click()
    with page.expect_download(timeout=30_000) as svg:
        svg_button.click()
    assert png.value.suggested_filename == "othello-gpt.png"
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert svg.value.suggested_filename == "othello-gpt.svg"
    text = open(svg.value.path(), encoding="utf-8").read()
    assert text.lstrip().startswith("<svg") and "linear mine/theirs" in text  # the chart, its legend too
    page.goto(server + "/?moves=f5d6c3d3c4")
    wait_for_app(page)
    strip = page.locator(".st-key-legal_strip svg[data-moves]")  # drawn without plotly (app.live_svg)
    strip.hover()
    with page.expect_download(timeout=30_000) as svg:
        page.locator('.st-key-legal_strip button:has-text("SVG")').click()
    with page.expect_download(timeout=30_000) as png:
        page.locator('.st-key-legal_strip button:has-text("PNG")').click()
    text = open(svg.value.path(), encoding="utf-8").read()
    assert text.startswith("<svg") and text.count("<rect") == 5 and 'data-current="5"' in text
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_live_board_downloads_as_png_and_as_svg(server, page):
    """Play's live board is not a plotly chart: its own PNG and SVG buttons save what it draws."""
    page.goto(server + "/?moves=f5d6c3")
    board = play_board(3)
    wait_for_board(page, board)
    page.locator(board).hover()
    with page.expect_download(timeout=30_000) as svg:
        page.locator('.st-key-play_board button:has-text("SVG")').click()
    with page.expect_download(timeout=30_000) as png:
        page.locator('.st-key-play_board button:has-text("PNG")').click()
    assert svg.value.suggested_filename == "othello-gpt.svg" and png.value.suggested_filename == "othello-gpt.png"
    text = open(svg.value.path(), encoding="utf-8").read()
    assert text.startswith("<svg") and 'data-position="3_3"' in text
    assert text.count('fill="black"') + text.count('fill="white"') == 7  # the discs after f5 d6 c3
    assert "Board · click a ringed square to play" in text
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_prediction_board_is_a_live_board_coloured_by_the_models_probabilities(server, page):
    """Play's prediction board is drawn in the browser: each square coloured by P(move) on the Blues scale (the
    most probable square darkest), its value in the square's tooltip, the true legal moves ringed, a colour bar."""
    from othello_core.rules.notation import square_to_name
    page.goto(server + "/?moves=f5d6c3")
    board = '.st-key-prediction_board svg[aria-label*="P(move 4)"]'
    wait_for_board(page, board)
    squares = page.locator(f"{board} rect[data-square]")
    fills = squares.evaluate_all("rs => rs.map(r => r.getAttribute('fill'))")
    tips = squares.evaluate_all("rs => rs.map(r => r.querySelector('title').textContent)")
    values = [float(t.split(": ")[1].split()[0]) for t in tips]
    assert [t.split(":")[0] for t in tips] == [square_to_name(s) for s in range(64)]
    darkness = [sum(int(c) for c in f[4:-1].split(",")) for f in fills]  # rgb(r,g,b): lower is darker
    assert int(np.argmin(darkness)) == int(np.argmax(values)) and abs(sum(values) - 1) < 0.01
    assert page.locator(f"{board} linearGradient stop").count() >= 2  # the colour bar
    from othello_core.rules.board import parse_game
    legal = parse_game("f5 d6 c3").board.legal_moves()
    rings = page.locator(f"{board}").get_attribute("data-legal")
    assert [s for s in range(64) if rings[s] == "1"] == sorted(legal)  # the true legal moves ringed


def test_a_click_on_the_painting_of_a_lost_click_is_refused_and_the_position_kept(server):
    """Streamlit keeps the newest of two clicks it has not yet run, so a click can be lost while the browser
    painted it; a second click made on that painting names a position the server never reached. Sent as the
    browser sends it (``bench.protocol_visitor``): the first click plays, the second (made on a painting of move 2
    while the server is at move 1) is refused with the message and leaves the game as it was."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from bench.protocol_visitor import Visitor
    from othello_core.rules.notation import parse_moves
    f5, d6 = parse_moves("f5 d6")

    async def visit():
        visitor = await Visitor.open(server, "moves=")
        board, _ = await visitor.click("play_board", f5, "1_1")
        assert board is not None and "moves=f5" in visitor.query
        board, _ = await visitor.click("play_board", d6, "2_2", shown=2)
        assert board is None and visitor.boards["play_board"][1]["position"] == "1_1"
        assert any("A click was lost" in alert for alert in visitor.alerts), visitor.alerts
        assert "moves=f5&" in visitor.query + "&"  # the link still holds the one move played
        board, _ = await visitor.click("play_board", d6, "2_2")  # clicked again on the server's board: played
        assert board is not None and "moves=f5d6" in visitor.query
        await visitor.close()
    with ThreadPoolExecutor(1) as pool:  # playwright's sync API holds this thread's event loop
        pool.submit(asyncio.run, visit()).result(timeout=120)


def test_the_reproduce_expander_draws_its_code_when_opened(server, page):
    """Drawn only while open (fewer elements re-rendered on each click): opening it in the browser reruns the page,
    or Interventions' fragment, and the code appears."""
    for path in ("/?moves=f5d6c3", "/interventions?moves=f5d6c3&edit=e4"):
        page.goto(server + path)
        wait_for_app(page)
        page.get_by_text("Reproduce in a notebook").wait_for()
        assert page.locator('[data-testid="stCode"]').count() == 0
        page.get_by_text("Reproduce in a notebook").click()
        page.locator('[data-testid="stCode"]').first.wait_for(state="visible", timeout=60_000)
        assert "result = " in page.locator('[data-testid="stCode"]').first.inner_text()


def test_the_components_load_their_code_under_a_base_url_path(browser):
    """Served under ``--server.baseUrlPath``: the components' code (app/static/, imported relative to the page as
    Streamlit's own bundle is) loads on the default page and on a page below it; a click on the board plays, and
    the board's download buttons (tools.js, imported by the board's module) are drawn."""
    from .browser import streamlit_process
    with streamlit_process(base="room") as (url, _):
        assert url.endswith("/room")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            wait_for_board(page, play_board(0))
            press_square(page, name_to_square("f5"), play_board(0))
            wait_for_board(page, play_board(1))
            assert page.locator(".st-key-play_board .tools button").count() == 2
            page.goto(url + "/interventions?moves=f5d6c3")
            page.wait_for_selector(".live-board svg[data-cells]", timeout=90_000)
        finally:
            page.close()
