"""A room's server (``app.replicas``): visitors spread over the replicas and stay on theirs, and the dashboard works
through the proxy as it does served alone (a real browser plays moves; the protocol visitor too)."""
import asyncio
import http.client
import os
import re
import time
import urllib.parse
import urllib.request

import pytest

from app.replicas import COOKIE, PROMISE, PROMISED_S, Replicas, same_origin
from othello_core.rules.notation import name_to_square

from .browser import chromium, chromium_path, play_board, press_square, streamlit_process, wait_for_app, wait_for_board


def test_a_visitor_with_the_cookie_stays_and_a_new_one_goes_to_the_fewest_visitors():
    room = Replicas([9001, 9002, 9003])
    assert room.pick("2") == (2, False, None) and room.pick("0") == (0, False, None)
    room.sessions = [3, 1, 2]
    assert room.pick(None, promise=False) == (1, True, None)
    for bad in ("3", "-1", "x", "", "²", "1" * 5000):  # not a replica: treated as new, never parsed
        assert room.pick(bad, promise=False) == (1, True, None)
    room.sessions, room.promised = [1, 1, 1], [{} for _ in range(3)]
    assert {room.pick(None).index for _ in range(3)} == {0, 1, 2}  # ties taken in turn


def test_a_room_arriving_at_once_is_spread_before_any_websocket_opens():
    """Eight new visitors picked before any of them opens a websocket, one session already open: 4 and 4 (counting
    open sessions alone sent all eight to the empty replica). A websocket keeps its own promise (a returning page's
    takes no newcomer's); a failed request withdraws it; one never kept stops counting after ``PROMISED_S``; a health
    check counts nowhere."""
    now = [0.0]
    room = Replicas([9001, 9002], clock=lambda: now[0])
    first = room.pick(None)
    room.opened(first.index, first.token)  # the one already there
    assert first.index == 1  # (ties are taken in turn)
    picks = [room.pick(None) for _ in range(8)]
    assert sum(p.index == 0 for p in picks) == sum(p.index == 1 for p in picks) == 4
    there = [p for p in picks if p.index == 0]
    assert [room.visitors(0), room.visitors(1)] == [4, 5]
    room.opened(0, None)  # a page that returns: a session, and the four newcomers still on their way
    assert room.sessions[0] == 1 and room.visitors(0) == 5
    room.opened(0, there[0].token)  # a newcomer's websocket keeps its promise
    room.withdraw(0, there[1].token)  # a newcomer whose page failed
    assert room.sessions[0] == 2 and room.visitors(0) == 4
    now[0] = PROMISED_S + 1  # the other two pages never opened their websocket
    assert room.visitors(0) == 2
    before = [room.visitors(0), room.visitors(1)]
    assert room.pick(None, promise=False).token is None and [room.visitors(0), room.visitors(1)] == before
    room.closed(0)
    assert room.sessions[0] == 1


def test_only_pages_it_served_open_a_websocket():
    assert same_origin("http://room.example:8501", "room.example:8501")
    assert same_origin(None, "room.example:8501")  # no Origin header: not a browser page
    assert not same_origin("http://evil.example", "room.example:8501")


def test_the_replicas_own_port_and_address_are_refused_with_what_to_use_instead(capsys):
    from app.replicas import main
    with pytest.raises(SystemExit):
        main(["--replicas", "2", "--server.port", "9000"])
    assert "give the address and port as --address and --port" in capsys.readouterr().err


def cookies_of(url: str, cookie: str | None = None) -> dict[str, str]:
    """The cookies the proxy sets on a page load, as a browser opens the page (with ``COOKIE`` set to ``cookie``)."""
    headers = {"Accept": "text/html"} | ({"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    request = urllib.request.Request(url + "/", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200 and b"<html" in response.read().lower()
        return dict(value.split(";")[0].split("=", 1) for value in response.headers.get_all("Set-Cookie") or [])


def cookie_of(url: str, cookie: str | None = None) -> str | None:
    return cookies_of(url, cookie).get(COOKIE)


@pytest.fixture(scope="module")
def room():
    from bench.bench_floor import process_tree
    with streamlit_process(replicas=2) as (url, proxy):
        replicas = process_tree(proxy.pid)[1:]
        assert len(replicas) >= 2
        yield url
    proxy.wait(30)
    for pid in replicas:  # the replicas end with the proxy
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"replica {pid} outlived the proxy")


def test_head_answers_without_a_body_and_a_body_over_the_limit_is_refused_unread(room):
    from app.replicas import MAX_BODY
    with urllib.request.urlopen(urllib.request.Request(room + "/", method="HEAD"), timeout=30) as response:
        assert response.status == 200 and response.read() == b""
    host = urllib.parse.urlparse(room).netloc
    connection = http.client.HTTPConnection(host, timeout=30)  # says it will send too much, sends nothing yet
    connection.putrequest("PUT", "/_stcore/upload_file/x/y")
    connection.putheader("Content-Length", str(MAX_BODY + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    streamed = http.client.HTTPConnection(host, timeout=30)  # no length given: refused once past the limit
    chunks = (b"0" * (1 << 20) for _ in range((MAX_BODY >> 20) + 2))
    try:
        streamed.request("PUT", "/_stcore/upload_file/x/y", body=chunks, encode_chunked=True)
        assert streamed.getresponse().status == 413
    except ConnectionResetError:  # refused before the last chunk was sent: also not read
        pass
    streamed.close()


def test_new_visitors_are_spread_over_the_replicas_and_kept_on_theirs(room):
    first, second = cookie_of(room), cookie_of(room)
    assert {first, second} == {"0", "1"}
    assert cookie_of(room, first) is None  # already placed: no new cookie


def test_page_loads_arriving_beside_an_open_session_are_spread_and_health_checks_move_nothing(room):
    """One visitor's session open on one replica, then three new visitors' pages before any opens its websocket:
    they go to both replicas (counting open sessions alone sent all three to the other), health checks between them
    changing nothing; each new page carries its promise's cookie to its websocket."""
    from bench.protocol_visitor import Visitor

    def health() -> None:
        with urllib.request.urlopen(room + "/_stcore/health", timeout=30) as response:
            assert response.read() == b"ok"

    async def arrive() -> list:
        visitor = await Visitor.open(room, "moves=")  # no cookie: placed by its websocket, kept open
        placed = []
        for _ in range(3):
            await asyncio.to_thread(health)
            placed.append(await asyncio.to_thread(cookies_of, room))
        await visitor.close()
        return placed

    placed = asyncio.run(arrive())
    assert {cookies[COOKIE] for cookies in placed} == {"0", "1"}, placed
    assert all(len(cookies.get(PROMISE, "")) == 16 for cookies in placed), placed


def test_the_protocol_visitor_plays_through_the_proxy(room):
    from bench.protocol_visitor import Visitor

    async def play() -> tuple:
        visitor = await Visitor.open(room, "moves=")
        board, _ = await visitor.click("play_board", name_to_square("d3"), "1_1")
        await visitor.close()
        return board, visitor.query

    board, query = asyncio.run(play())
    assert board is not None and "moves=d3" in query


def test_components_send_a_loader_and_their_code_comes_as_javascript_files_through_the_proxy(room):
    """A Play click's run sends each component a loader, not its code (app/static_component.py); the file the
    loader imports, and the files that one imports, are served as JavaScript through the proxy, as on disk."""
    from app.static_component import STATIC, needs, version
    from bench.protocol_visitor import Visitor

    async def play() -> list[tuple[str, str, str]]:
        visitor = await Visitor.open(room, "moves=")
        await visitor.click("play_board", name_to_square("d3"), "1_1")
        await visitor.close()
        return visitor.code

    code = asyncio.run(play())
    assert {"othello_live_board", "othello_live_svg", "othello_viewport", "othello_svg_download"} <= {
        name for name, _, _ in code}
    assert all(len(js) < 400 for _, js, _ in code)
    urls = {re.search(r'import\(new URL\("([^"]+)"', js).group(1) for _, js, _ in code}
    assert all(url.startswith("app/static/") and url.endswith(f"?v={version()}") for url in urls)
    files = set().union(*(needs(url.split("?")[0].rsplit("/", 1)[1]) for url in urls))
    assert "tools.js" in files
    for name in files:  # the page is at the proxy's root: its URLs resolve to /app/static/...
        with urllib.request.urlopen(f"{room}/app/static/{name}?v={version()}") as answer:
            assert answer.headers["Content-Type"] in ("application/javascript", "text/javascript")
            assert answer.read() == (STATIC / name).read_bytes()


def test_the_protocol_visitor_moves_the_patching_slider_through_the_proxy(room):
    """The room bench's patching visitor: one session on Circuits' activation patching moving the corrupted-move
    slider (``Visitor.slide``): each run draws the patching chart and the link names the move."""
    from bench.protocol_visitor import Visitor
    from othello_core.analysis.attribution import corrupt_one_move
    from othello_core.rules.notation import parse_moves
    line = parse_moves("f5d6c3d3c4f4c5b3")
    first, second = [i + 1 for i in range(len(line)) if corrupt_one_move(line, i)][:2]

    async def slide() -> list:
        visitor = await Visitor.open(room, f"moves=f5d6c3d3c4f4c5b3&circuits_tab=Activation+patching&"
                                           f"patch_move={first}", page="circuits")
        seen = [(visitor.query, "plotly_chart" in visitor.elements, visitor.alerts)]
        await visitor.slide("patch_index", second)
        seen.append((visitor.query, "plotly_chart" in visitor.elements, visitor.alerts))
        await visitor.close()
        return seen

    seen = asyncio.run(slide())
    assert [(f"patch_move={move}" in query, drawn, alerts) for (query, drawn, alerts), move
            in zip(seen, (first, second))] == [(True, True, [])] * 2, seen


@pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed (./dev test installs it)")
def test_a_browser_plays_through_the_proxy(room):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(room + "/")
        wait_for_app(page)
        wait_for_board(page, play_board(0))
        press_square(page, name_to_square("d3"), play_board(0))
        wait_for_board(page, play_board(1))
        page.wait_for_function("() => document.body.innerText.includes('Top-1:')", timeout=60_000)
        wait_for_app(page)
        assert "moves=d3" in page.url
        assert any(c["name"] == COOKIE for c in page.context.cookies())
