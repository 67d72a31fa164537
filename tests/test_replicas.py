"""A room's server (``app.replicas``): visitors spread over the replicas and stay on theirs, and the dashboard works
through the proxy as it does served alone (a real browser plays moves; the protocol visitor too)."""
import asyncio
import http.client
import os
import time
import urllib.parse
import urllib.request
from collections import deque

import pytest

from app.replicas import COOKIE, PROMISED_S, Replicas, same_origin
from othello_core.rules.notation import name_to_square

from .browser import chromium, chromium_path, play_board, press_square, streamlit_process, wait_for_app, wait_for_board


def test_a_visitor_with_the_cookie_stays_and_a_new_one_goes_to_the_fewest_visitors():
    room = Replicas([9001, 9002, 9003])
    assert room.pick("2") == (2, False) and room.pick("0") == (0, False)
    room.sessions = [3, 1, 2]
    assert room.pick(None) == (1, True)
    for bad in ("3", "-1", "x", "", "²", "1" * 5000):  # not a replica: treated as new, never parsed
        room.promised = [deque() for _ in range(3)]
        assert room.pick(bad) == (1, True)
    room.sessions, room.promised = [1, 1, 1], [deque() for _ in range(3)]
    assert {room.pick(None)[0] for _ in range(3)} == {0, 1, 2}  # ties taken in turn


def test_a_room_arriving_at_once_is_spread_before_any_websocket_opens():
    """Eight new visitors picked before any of them opens a websocket, one session already open: 4 and 4 (counting
    open sessions alone sent all eight to the empty replica). A websocket opening turns a promise into a session;
    a promise never kept stops counting after ``PROMISED_S``."""
    now = [0.0]
    room = Replicas([9001, 9002], clock=lambda: now[0])
    room.opened(room.pick(None)[0])  # the one already there (on replica 1: ties are taken in turn)
    picks = [room.pick(None)[0] for _ in range(8)]
    assert picks.count(0) == picks.count(1) == 4
    assert [room.visitors(i) for i in (0, 1)] == [4, 5]
    room.opened(0)
    assert room.sessions[0] == 1 and room.visitors(0) == 4  # the same visitor, now a session
    now[0] = PROMISED_S + 1  # the other three pages on replica 0 never opened their websocket
    assert room.visitors(0) == room.visitors(1) == 1
    room.closed(0)
    assert room.sessions == [0, 1] and room.pick(None)[0] == 0
    assert room.pick(None, promise=False)[1] and room.visitors(0) == 1  # a health check is no visitor


def test_only_pages_it_served_open_a_websocket():
    assert same_origin("http://room.example:8501", "room.example:8501")
    assert same_origin(None, "room.example:8501")  # no Origin header: not a browser page
    assert not same_origin("http://evil.example", "room.example:8501")


def test_the_replicas_own_port_and_address_are_refused_with_what_to_use_instead(capsys):
    from app.replicas import main
    with pytest.raises(SystemExit):
        main(["--replicas", "2", "--server.port", "9000"])
    assert "give the address and port as --address and --port" in capsys.readouterr().err


def cookie_of(url: str, cookie: str | None = None) -> str | None:
    headers = {"Accept": "text/html"} | ({"Cookie": f"{COOKIE}={cookie}"} if cookie else {})  # as a browser opens it
    request = urllib.request.Request(url + "/", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200 and b"<html" in response.read().lower()
        set_cookie = response.headers.get("Set-Cookie") or ""
    return set_cookie.split(f"{COOKIE}=", 1)[1].split(";")[0] if COOKIE in set_cookie else None


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


def test_the_protocol_visitor_plays_through_the_proxy(room):
    from bench.protocol_visitor import Visitor

    async def play() -> tuple:
        visitor = await Visitor.open(room, "moves=")
        board, _ = await visitor.click("play_board", name_to_square("d3"), "1_1")
        await visitor.close()
        return board, visitor.query

    board, query = asyncio.run(play())
    assert board is not None and "moves=d3" in query


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
