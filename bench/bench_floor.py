"""The dashboard's click loop against the floor: a bare Streamlit app with one clickable board
(``bench/floor_app.py``), both served at once and measured in one run with the same pointer, in
Debian's chromium (playwright).

    python -m bench.bench_floor [--rounds 3] [--clicks 12]

Each round opens a fresh page on each server and plays the same line, alternating floor and app so
a change in the machine's load falls on both. Per click, as a person makes it (the pointer moves onto
the square, the board names it under the pointer, then press and release):

- floor: click -> updated board;
- Play: click -> the move painted on its live board (by the browser, ``app.live_board``), click -> the server's
  board for the new position, and click -> updated prediction (its panel, keyed by position);
- Interventions: click on the board as edited -> the edited prediction drawn (its title names the edit);
- Present: the Right arrow key -> the next position's board drawn (the script finished and painted);
- the server's CPU seconds per click (``/proc/<pid>/stat``: robust when the browser shares the cores);
- a new visitor (fresh browser context, warm server): load -> first board, and -> first prediction.

Every figure is a ratio to the floor's median click -> board, with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from othello_core.analysis.cores import TICKS_PER_S, process_ticks
from othello_core.rules.games import random_games
from othello_core.rules.notation import format_moves, square_to_name
from tests.browser import (chromium, edit_board, painted_board, play_board, point_at_square, streamlit_process,
                           wait_for_app)

def children(pid: int) -> list[int]:
    """The processes ``pid`` started that are alive now (a room server's replicas: ``app.replicas``)."""
    import glob
    found = []
    for listing in glob.glob(f"/proc/{pid}/task/*/children"):  # a child lists under the thread that made it
        try:
            with open(listing) as fh:
                found += [int(child) for child in fh.read().split()]
        except OSError:
            pass
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants alive now."""
    pids, i = [pid], 0
    while i < len(pids):
        pids += [child for child in children(pids[i]) if child not in pids]
        i += 1
    return pids


def tree_ticks(pid: int) -> dict[int, int]:
    """CPU clock ticks so far of a process alone, and of each of its children with their descendants (a room
    server's proxy, and each replica); 0 for one that exited since it was listed."""
    return {pid: process_ticks(pid) or 0} | {child: sum(process_ticks(each) or 0 for each in process_tree(child))
                                             for child in children(pid)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a process and its descendants alive now."""
    return sum(tree_ticks(pid).values()) / TICKS_PER_S


def timed_click(page, square: int, board: str, *arrivals, before_press=None) -> list[float] | None:
    """Press ``square`` on the ``board`` (a selector) once the page has settled, as a person does; the seconds
    from the press until each of ``arrivals`` (callables that wait, raising on a timeout) returns in turn, or
    None when the first timed out (the click was lost). ``before_press`` runs once the pointer is on the square."""
    page.wait_for_selector(board, timeout=120_000)
    wait_for_app(page)
    point_at_square(page, square, board)
    if before_press:
        before_press()
    start = time.perf_counter()
    page.mouse.down()
    page.mouse.up()
    times = []
    for arrive in arrivals:
        try:
            arrive()
        except PlaywrightTimeout:
            if not times:
                return None
            raise
        times.append(time.perf_counter() - start)
    return times


def wait_for_title(page, key: str, first_line: str, timeout_ms: int = 60_000) -> None:
    """Until the live board under element key ``key`` has a title whose first line is ``first_line``."""
    page.wait_for_selector(f'.st-key-{key} svg[aria-label^="{first_line} · "]', timeout=timeout_ms)


def wait_for_prediction(page, moves: int, timeout_ms: int = 60_000) -> None:
    """Until Play's prediction board (a live board) is drawn for the position after ``moves`` moves (its title
    names the move)."""
    page.wait_for_selector(f'.st-key-prediction_board svg[aria-label*="P(move {moves + 1})"]', timeout=timeout_ms)


def floor_round(browser, url: str, moves: list[int]) -> tuple[list[float], list[float], int]:
    """Per click: -> the updated board (as playwright sees it; and in the page's own clock)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/")
    times, in_page, lost = [], [], 0
    for i, square in enumerate(moves):
        took = timed_click(page, square, f".st-key-floor_{i} .nsewdrag",
                           lambda: page.wait_for_selector(f".st-key-floor_{i + 1} .nsewdrag", timeout=20_000),
                           before_press=lambda: page.evaluate(
                               WATCH, f"document.querySelector('.st-key-floor_{i + 1} .nsewdrag')"))
        if took is None:
            lost += 1
            break
        times += took
        in_page.append(in_page_seconds(page))
    page.close()
    return times, in_page, lost


# In the page's own clock: the pointer's press -> the first change after which ``arrived`` (a JS expression) holds,
# then the frame that paints it. Playwright notices a change only when it next polls, tens of ms later.
WATCH = """(arrived) => { window.__paint = null;
  const test = new Function('return (' + arrived + ');');
  let pressed = null;
  document.addEventListener('pointerdown', () => { pressed = performance.now(); }, {capture: true, once: true});
  const seen = new MutationObserver(() => {
    if (pressed === null || !test()) return;
    seen.disconnect();
    requestAnimationFrame(() => { window.__paint = performance.now() - pressed; });
  });
  const observe = (node) => seen.observe(node, {subtree: true, childList: true, attributes: true});
  observe(document.body);
  document.querySelectorAll('.st-key-play_board *').forEach((e) => e.shadowRoot && observe(e.shadowRoot));
}"""
LIVE_SHOWN = ("[...document.querySelectorAll('.st-key-play_board *')].some((e) => e.shadowRoot && "
              "e.shadowRoot.querySelector('svg[data-shown=\"{shown}\"]'))")


def in_page_seconds(page) -> float | None:
    value = page.evaluate("() => window.__paint")
    return None if value is None else value / 1000


def play_round(browser, url: str, moves: list[int]) -> dict[str, list[float] | int]:
    """Per click: -> the move painted on the live board (by the browser: as playwright sees it, and in the page's
    own clock), -> the server's board for the new position, -> the new prediction."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/")
    out = {"painted": [], "in_page": [], "board": [], "prediction": [], "lost": 0}
    for i, square in enumerate(moves):
        took = timed_click(page, square, play_board(i),
                           lambda: page.wait_for_selector(painted_board(i + 1), timeout=20_000),
                           lambda: page.wait_for_selector(play_board(i + 1), timeout=20_000),
                           lambda: wait_for_prediction(page, i + 1),
                           before_press=lambda: page.evaluate(WATCH, LIVE_SHOWN.format(shown=i + 1)))
        if took is None:
            out["lost"] += 1
            break
        for name, seconds in zip(("painted", "board", "prediction"), took):
            out[name].append(seconds)
        out["in_page"].append(in_page_seconds(page))
    page.close()
    return out


def edit_round(browser, url: str, moves: list[int], at: int, squares: list[int]) -> tuple[list[float], int]:
    """Toggle each square into the edit, then out again: each click -> the edited prediction drawn (the after
    board's first title line names the edit)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/interventions?moves={format_moves(moves)}&at={at}&edit={square_to_name(squares[0])}")
    times, lost = [], 0
    chosen = [squares[0]]
    plan = [(s, True) for s in squares[1:]] + [(s, False) for s in squares[1:]]
    for square, adding in plan:
        board = edit_board("edit_board", at - 1, "".join(square_to_name(s) for s in sorted(chosen)))
        chosen = chosen + [square] if adding else [s for s in chosen if s != square]
        shown = "After editing " + " ".join(square_to_name(s) for s in sorted(chosen))
        took = timed_click(page, square, board, lambda: wait_for_title(page, "edit_after", shown))
        if took is None:
            lost += 1
            break
        times += took
    page.close()
    return times, lost


def present_round(browser, url: str, moves: list[int], steps: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/present?moves={format_moves(moves)}&at=0")
    page.wait_for_selector(".st-key-present_board .nsewdrag", timeout=120_000)
    times = []
    for k in range(1, steps + 1):
        wait_for_app(page)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        start = time.perf_counter()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("(t) => document.body.innerText.includes(t)", arg=f"Move {k} / {len(moves)}",
                               timeout=30_000)
        wait_for_app(page)
        times.append(time.perf_counter() - start)
    page.close()
    return times


def new_visitor(browser, url: str, moves: list[int]) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/?moves={format_moves(moves)}")
    page.wait_for_selector(play_board(len(moves)), timeout=120_000)
    board = time.perf_counter() - start
    wait_for_prediction(page, len(moves), 120_000)
    prediction = time.perf_counter() - start
    context.close()
    return board, prediction


def describe(name: str, times: list[float], floor: float) -> str:
    p95 = sorted(times)[min(len(times) - 1, int(0.95 * len(times)))]
    return (f"{name:<38} median {statistics.median(times) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
            f"= {statistics.median(times) / floor:4.2f}x the floor  (n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=12)
    parser.add_argument("--play-only", action="store_true", help="the floor and Play only (a quick check)")
    args = parser.parse_args()
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :int(batch.lengths[0])].tolist()
    line = moves[:args.clicks]
    edit_at = 20
    from othello_core.rules.board import replay
    board = replay(moves[:edit_at]).board
    discs = [s for s in range(64) if board.cell(s) and s not in (27, 28, 35, 36)][:4]
    load_start = os.getloadavg()
    floor, floor_in_page, edits, present = [], [], [], []
    play = {"painted": [], "in_page": [], "board": [], "prediction": []}
    lost = {"floor": 0, "play": 0, "edit": 0}
    cpu = {"floor": 0.0, "play": 0.0}
    with chromium() as browser, streamlit_process("bench/floor_app.py") as (floor_url, floor_proc), \
            streamlit_process() as (app_url, app_proc):
        play_round(browser, app_url, line[:2])  # the model loads and every cache warms: not counted
        floor_round(browser, floor_url, line[:2])
        for r in range(args.rounds):
            before = cpu_seconds(floor_proc.pid)
            times, times_in_page, n = floor_round(browser, floor_url, line)
            cpu["floor"] += cpu_seconds(floor_proc.pid) - before
            floor += times
            floor_in_page += times_in_page
            lost["floor"] += n
            before = cpu_seconds(app_proc.pid)
            got = play_round(browser, app_url, line)
            cpu["play"] += cpu_seconds(app_proc.pid) - before
            for name in play:
                play[name] += got[name]
            lost["play"] += got["lost"]
            m, b, p = got["painted"], got["board"], got["prediction"]
            print(f"round {r + 1}: floor {statistics.median(times) * 1000:.0f} ms, Play painted "
                  f"{statistics.median(m) * 1000:.0f} ms / server's board {statistics.median(b) * 1000:.0f} ms / prediction {statistics.median(p) * 1000:.0f} ms", flush=True)
        for r in range(0 if args.play_only else args.rounds):
            times, n = edit_round(browser, app_url, moves, edit_at, discs)
            edits += times
            lost["edit"] += n
            present += present_round(browser, app_url, moves[:edit_at], min(args.clicks, edit_at))
        visitor = [new_visitor(browser, app_url, moves[:edit_at]) for _ in range(0 if args.play_only else 3)]
    load_end = os.getloadavg()
    base = statistics.median(floor)
    print(f"load average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end "
          f"({os.cpu_count()} cores)")
    print(describe("floor: click -> updated board", floor, base))
    print(describe("Play: click -> move painted (browser)", play["painted"], base) + "  (target <= 1.5x)")
    page_base = statistics.median([t for t in floor_in_page if t is not None])
    print(describe("  in the page's clock: floor", [t for t in floor_in_page if t is not None], page_base))
    print(describe("  in the page's clock: Play painted", [t for t in play["in_page"] if t is not None], page_base)
          + "  (press -> painted frame)")
    print(describe("Play: click -> server's board", play["board"], base))
    print(describe("Play: click -> updated prediction", play["prediction"], base) + "  (target <= 2.5x)")
    if edits:
        print(describe("Interventions: click -> edited prediction", edits, base) + "  (target <= 3x)")
        print(describe("Present: arrow key -> next board drawn", present, base))
    clicks = args.rounds * len(line)
    print(f"server CPU per click: floor {cpu['floor'] / clicks * 1000:.0f} ms, Play {cpu['play'] / clicks * 1000:.0f} ms"
          f" (target <= 150 ms)")
    print(f"lost clicks: {lost}")
    if not visitor:
        return
    boards = sorted(v[0] for v in visitor)
    predictions = sorted(v[1] for v in visitor)
    print(f"new visitor, warm server: first board {statistics.median(boards):.2f} s, first prediction "
          f"{statistics.median(predictions):.2f} s (median of {len(visitor)}; target <= 5 s)")


if __name__ == "__main__":
    main()
