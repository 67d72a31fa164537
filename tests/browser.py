"""Shared helpers for the real-browser tests: a Streamlit server on a free loopback port and
Debian's chromium driven by playwright (its own browser download does not work here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def chromium_path() -> str | None:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@contextmanager
def streamlit_process(entry: str = "app/streamlit_app.py", env: dict | None = None, replicas: int = 1,
                      base: str = ""):
    """A Streamlit server on a free loopback port: yields (url, process) once it answers its health check.
    ``replicas`` > 1: the dashboard served by ``app.replicas`` (that many Streamlit processes, children of the
    yielded one, behind its port). ``base``: served under that path (``server.baseUrlPath``; one process)."""
    from app.replicas import free_ports, healthy, local_url
    port = free_ports(1)[0]
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / f"server-{port}.log", "w")
    command = ([sys.executable, "-m", "streamlit", "run", entry, "--server.address", "127.0.0.1", "--server.port",
                str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"] if replicas == 1 else
               [sys.executable, "-m", "app.replicas", "--replicas", str(replicas), "--port", str(port)])
    command += ["--server.fileWatcherType", "none"]  # (app.replicas passes it on to each replica)
    if base:
        if replicas != 1:
            raise ValueError("a base path is served by one process here")
        command += ["--server.baseUrlPath", base]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = local_url(port, base)
    try:
        if not healthy(port, timeout=120, base=base):
            raise RuntimeError(f"streamlit did not become healthy; see {log.name}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def streamlit_server(entry: str = "app/streamlit_app.py", env: dict | None = None):
    with streamlit_process(entry, env) as (url, _):
        yield url


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: int = 90_000) -> None:
    """Until Streamlit has finished running the script: the app root's ``data-test-script-state`` is
    ``notRunning`` (the status widget is hidden under toolbarMode minimal, so it cannot tell), then
    until the browser has painted twice (plotly draws on the next frames)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def play_board(moves: int, cursor: int | None = None) -> str:
    """The Play page's live board (``app.live_board``) as the server drew it at a position (``len(line)_cursor``):
    the painting a click makes at once is ``painted_board``."""
    return f'.st-key-play_board svg[data-position="{moves}_{moves if cursor is None else cursor}"]'


def painted_board(shown: int) -> str:
    """The Play page's live board showing the position after ``shown`` moves, painted by the browser at the
    click or drawn by the server."""
    return f'.st-key-play_board svg[data-shown="{shown}"]'


def is_live(selector: str) -> bool:
    """Whether a board selector names a live board (an SVG with a rect per square) rather than a plotly one."""
    return "svg[data-" in selector


def board_locator(page, selector: str):
    """A board by its element key (``.st-key-…``): a plotly board's drag layer or a live board's SVG (several
    charts draw in any order, so "the first chart" is sometimes another one)."""
    return page.locator(selector)


def wait_for_board(page, selector: str, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector(selector, timeout=timeout_ms)
    wait_for_app(page, timeout_ms)


def board_cell_centre(page, square: int, selector: str) -> tuple[float, float]:
    """Screen coordinates of a square's centre on the board the selector names."""
    if is_live(selector):
        for _ in range(50):  # None while a redraw (the same position at a new size) replaces the squares: again
            box = page.locator(f'{selector} rect[data-square="{square}"]').bounding_box()
            if box is not None:
                return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.wait_for_timeout(100)
        raise AssertionError(f"square {square} of {selector} was not drawn within 5 s")
    box = board_locator(page, selector).bounding_box()
    col, row = square % 8, square // 8
    return box["x"] + (col + 0.5) * box["width"] / 8, box["y"] + (row + 0.5) * box["height"] / 8


def point_at_square(page, square: int, selector: str) -> None:
    """As a person does: move the pointer onto the square and wait until the board shows it is over
    that square (plotly's hover label or the live board's ``data-hover`` names it; hover is throttled, so pressing at once can land on
    a square the pointer crossed on the way)."""
    from othello_core.rules.notation import square_to_name
    x, y = board_cell_centre(page, square, selector)
    page.mouse.move(x, y, steps=4)
    if is_live(selector):  # the live board names the square under the pointer in data-hover
        page.wait_for_selector(f'{selector}[data-hover="{square_to_name(square)}"]', timeout=10_000)
        return
    chart = selector.rsplit(" ", 1)[0]  # the element-key container of the board
    page.wait_for_function(
        """([chart, name]) => { const h = document.querySelector(chart + ' .hoverlayer');
                               return h && h.textContent.trim().startsWith(name); }""",
        arg=[chart, square_to_name(square)], timeout=10_000)


def press_square(page, square: int, selector: str) -> None:
    """Point at the square, then press and release."""
    point_at_square(page, square, selector)
    page.mouse.down()
    page.mouse.up()


def edit_board(prefix: str, position: int, squares: str, target: str = "flip") -> str:
    """A "board as edited" (a live board under the element key ``prefix``) as the server drew it for the edit of
    ``squares`` (``app.edit_state.board_key``: the name changes with each click's outcome)."""
    return f'.st-key-{prefix} svg[data-position="{prefix}_{position}_{target}_{squares or "none"}"]'


def wait_for_text(page, text: str, timeout_ms: int = 60_000) -> None:
    page.wait_for_function("(t) => document.body.innerText.includes(t)", arg=text, timeout=timeout_ms)


def press_until(page, key: str, text: str, tries: int = 3) -> None:
    """Press ``key`` until the page shows ``text``: pressed again only when the app is idle and the text is not
    there (the press was lost; seen about once in three whole suites for the first arrow key on Present), never
    while a run it started may still be drawing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for _ in range(tries):
        wait_for_app(page)
        page.keyboard.press(key)
        try:
            wait_for_text(page, text, timeout_ms=15_000)
            return
        except PlaywrightTimeout:
            wait_for_app(page)
            if text in page.inner_text("body"):
                return
    wait_for_text(page, text)
