"""A room on one server: N visitors (browser contexts in one Debian chromium, playwright) each play a
12-move line on the Play page at once, as fast as the page allows, with and without one more visitor
running activation patching on Circuits: one new corrupted move after another of one game, as a visitor moving the
slider (each run computes: none is kept yet; ``--new-game``: a new game each run, so each run also analyses it).

    python -m bench.bench_room [--visitors 1,4,8] [--moves 12] [--clients browser|protocol] [--new-game]

Per N: median and p95 click -> the server's updated board (not the browser's painting) over every visitor's clicks, clicks lost (pressed, not
played within 30 s: pressed again), the server's peak RSS, and its CPU seconds per click (from
``/proc``: the robust figure, since the browsers share the machine's cores and the latencies are upper
bounds). The load average is printed with each row. Beside the ratio of N visitors' p95 to one visitor's, the
closed-loop floor: visitors who click again as soon as the board arrives keep the server saturated, so a click's
mean wait is at least N x (CPU per click) / cores (Little's law), whatever the code does with the CPU it takes;
about one core a replica, since a Streamlit process runs its Python one thread at a time (the GIL).

``--clients protocol``: each visitor is a ``bench.protocol_visitor.Visitor`` instead of a chromium page: it sends
the websocket messages a browser sends and reads the server's answer, drawing nothing, so the server has the
machine's cores to itself as it would in a room where each visitor brings a laptop (with chromium pages on the
same 2 cores, eight browsers drawing each run are most of the load). It also reports click -> the end of the run
(the prediction drawn).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import threading
import time

from urllib.parse import quote

from othello_core.analysis.attribution import corrupt_one_move
from othello_core.analysis.cores import TICKS_PER_S
from othello_core.rules.games import random_games
from othello_core.rules.notation import format_moves, square_to_name
from tests.browser import chromium_path, painted_board, play_board, streamlit_process
from bench.bench_floor import process_tree, tree_ticks
from bench.protocol_visitor import Visitor

CORES = len(os.sched_getaffinity(0))  # the cores this process (and the server it starts) may run on
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def rss_mb(pid: int) -> float:
    """Memory of a process and its descendants (a room server's replicas), in MB: resident for one process, and
    for several the proportional set size (``Pss``: a page they share counted once, in parts)."""
    tree = process_tree(pid)
    field, name = ("Pss:", "smaps_rollup") if len(tree) > 1 else ("VmRSS:", "status")
    total = 0
    for each in tree:
        try:
            with open(f"/proc/{each}/{name}") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith(field))
        except (OSError, StopIteration):  # exited since it was listed
            continue
    return total / 1024


class PeakRss:
    """Samples a process's resident memory every 0.2 s in a thread; ``peak`` in MB."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


async def settle(page) -> None:
    await page.wait_for_selector(SETTLED, timeout=120_000)
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def point(page, square: int, selector: str) -> None:
    """Onto the square of Play's live board, until the board names it under the pointer (as a person does)."""
    box = await page.locator(f'{selector} rect[data-square="{square}"]').bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
    await page.wait_for_selector(f'{selector}[data-hover="{square_to_name(square)}"]', timeout=60_000)


async def player(browser, url: str, moves: list[int], times: list[float], painted: list[float]) -> int:
    """Plays the line; appends click -> the server's updated board (and click -> the browser's painting of the
    move) per clean click; returns the clicks lost."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url + "/")
    lost = 0
    for i, square in enumerate(moves):
        await page.wait_for_selector(play_board(i), timeout=180_000)
        await settle(page)
        for attempt in range(3):
            await point(page, square, play_board(i))
            start = time.perf_counter()
            await page.mouse.down()
            await page.mouse.up()
            try:
                await page.wait_for_selector(painted_board(i + 1), timeout=30_000)
                seen = time.perf_counter() - start
                await page.wait_for_selector(play_board(i + 1), timeout=30_000)
            except Exception:
                lost += 1
                continue
            if attempt == 0:
                times.append(time.perf_counter() - start)
                painted.append(seen)
            break
    await context.close()
    return lost


SEEDS = itertools.count(100)  # one sequence for the whole run: no room repeats another's game


def patching_queries(length: int, new_game: bool = False):
    """(query, corrupted move number) of Circuits' activation patching of a new game (``length`` moves), each time a
    new corrupted move of it (the nearest to the middle first), as a visitor moving the slider does: every run computes (a result once computed is
    kept), and the game's analysis is the server's after the first. ``new_game``: a new game each time (each run
    also analyses a new game: the protocol before the ninth session)."""
    for seed in SEEDS:
        batch = random_games(1, seed=seed)
        moves = batch.squares[0, :min(length, int(batch.lengths[0]))].tolist()  # a game may end sooner
        indices = sorted((i for i in range(len(moves)) if corrupt_one_move(moves, i)), key=lambda i: abs(i - length // 2))
        for index in indices[:1] if new_game else indices:
            yield f"moves={quote(format_moves(moves))}&circuits_tab=Activation+patching", index + 1


async def patcher(browser, url: str, moves: list[int], stop: asyncio.Event, runs: list[float],
                  new_game: bool = False) -> None:
    """Opens Circuits' activation patching of one new corrupted move after another until told to stop
    (``patching_queries``; the games as long as ``moves``), each a page load of its link (not a slider move)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    for game, move in patching_queries(len(moves), new_game):
        if stop.is_set():
            break
        start = time.perf_counter()
        await page.goto(f"{url}/circuits?{game}&patch_move={move}")
        await page.wait_for_selector(".st-key-patching .main-svg, .stAlert", timeout=180_000)
        await settle(page)
        runs.append(time.perf_counter() - start)
    await context.close()


async def protocol_player(url: str, moves: list[int], times: list[float], ended: list[float]) -> int:
    """``player`` without a browser: click -> the server's updated board, and click -> the end of the run."""
    visitor = await Visitor.open(url, "moves=")
    lost = 0
    for i, square in enumerate(moves):
        for attempt in range(3):
            board, run = await visitor.click("play_board", square, f"{i + 1}_{i + 1}")
            if board is None:
                lost += 1
                continue
            if attempt == 0:
                times.append(board)
                ended.append(run)
            break
    await visitor.close()
    return lost


async def protocol_patcher(url: str, moves: list[int], stop: asyncio.Event, runs: list[float],
                           new_game: bool = False) -> None:
    """``patcher`` without a browser: one visitor moving the slider to each new corrupted move (a rerun of its
    page); ``new_game``: a new visitor (a new session, the page run whole) for each."""
    visitor = opened = None
    for game, move in patching_queries(len(moves), new_game):
        if stop.is_set():
            break
        start = time.perf_counter()
        if game != opened or "patch_index" not in visitor.sliders:  # a new game: a new visitor
            if visitor is not None:
                await visitor.close()
            visitor, opened = await Visitor.open(url, f"{game}&patch_move={move}", page="circuits"), game
        else:
            await visitor.slide("patch_index", move)
        runs.append(time.perf_counter() - start)
    if visitor is not None:
        await visitor.close()


async def protocol_room(url: str, n: int, moves: list[int], game: list[int], patching: bool, new_game: bool = False
                        ) -> tuple[list[float], list[float], int, list[float]]:
    """``room`` with protocol visitors: (click -> board, click -> end of the run, lost, patching runs)."""
    times: list[float] = []
    ended: list[float] = []
    runs: list[float] = []
    stop = asyncio.Event()
    background = asyncio.create_task(protocol_patcher(url, game, stop, runs, new_game)) if patching else None
    if patching:
        await asyncio.sleep(5)
    lost = sum(await asyncio.gather(*(protocol_player(url, moves, times, ended) for _ in range(n))))
    stop.set()
    if background:
        await background
    return times, ended, lost, runs


async def room(url: str, n: int, moves: list[int], game: list[int], patching: bool, new_game: bool = False
               ) -> tuple[list[float], list[float], int, list[float]]:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), headless=True,
                                          args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        times: list[float] = []
        painted: list[float] = []
        runs: list[float] = []
        stop = asyncio.Event()
        background = asyncio.create_task(patcher(browser, url, game, stop, runs, new_game)) if patching else None
        if patching:
            await asyncio.sleep(5)  # the first patching run under way before the players start
        lost = sum(await asyncio.gather(*(player(browser, url, moves, times, painted) for _ in range(n))))
        stop.set()
        if background:
            await background
        await browser.close()
    return times, painted, lost, runs


def p95(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(0.95 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", default="1,4,8")
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--clients", choices=["browser", "protocol"], default="browser")
    parser.add_argument("--replicas", type=int, default=1,
                        help="serve the room as `python -m app.replicas --replicas N` (1: one streamlit process)")
    parser.add_argument("--new-game", action="store_true",
                        help="the patching visitor opens a new game each run (default: a new corrupted move of one game)")
    args = parser.parse_args()
    protocol = args.clients == "protocol"
    run_room = protocol_room if protocol else room
    second = "click -> run ended (prediction)" if protocol else "click -> move painted"
    batch = random_games(1, seed=11)
    game = batch.squares[0, :int(batch.lengths[0])].tolist()
    moves = game[:args.moves]
    with streamlit_process(replicas=args.replicas) as (url, proc):
        print(f"server: {args.replicas} replica(s)", flush=True)
        # every replica loads the model and warms its caches (newcomers at once are spread): not counted
        asyncio.run(run_room(url, args.replicas, moves[:2], game[:30], False))
        rows, cpus, means = {}, {}, {}
        for patching in (False, True):
            for n in (int(v) for v in args.visitors.split(",")):
                peak, each = PeakRss(proc.pid), tree_ticks(proc.pid)
                times, painted, lost, runs = asyncio.run(run_room(url, n, moves, game[:30], patching, args.new_game))
                split = {pid: (ticks - each.get(pid, 0)) / TICKS_PER_S for pid, ticks in tree_ticks(proc.pid).items()}
                cpu = sum(split.values()) / max(1, len(times))
                rows[n, patching] = statistics.median(times), p95(times)
                means[n, patching] = statistics.mean(times)
                # the Streamlit processes' CPU a click (the proxy, a process of its own, left out)
                cpus[n, patching] = sum(sec for pid, sec in split.items()
                                        if args.replicas == 1 or pid != proc.pid) / max(1, len(times))
                load = os.getloadavg()[0]
                print(f"{n} visitor(s){' + patching' if patching else ''}: click -> board median "
                      f"{rows[n, patching][0] * 1000:5.0f} ms, p95 {rows[n, patching][1] * 1000:5.0f} ms "
                      f"({len(times)} clicks); {second} median {statistics.median(painted) * 1000:.0f} ms, "
                      f"p95 {p95(painted) * 1000:.0f} ms; lost {lost}, server peak RSS {peak.stop():.0f} MB, server CPU "
                      f"{cpu * 1000:.0f} ms a click{' (patching included)' if patching else ''}"
                      + (f", {len(runs)} patching runs, median {statistics.median(runs):.1f} s" if runs else "")
                      + f"; load {load:.2f}", flush=True)
                if args.replicas > 1:  # how the phase's work fell: the proxy, then each replica (and its children)
                    print("  CPU s: " + ", ".join(f"{'proxy' if pid == proc.pid else pid} {sec:.1f}"
                                                  for pid, sec in split.items()), flush=True)
    one = rows.get((1, False))
    for (n, patching), (median, high) in sorted(rows.items()):
        if one and not patching and n > 1:
            # n visitors clicking back to back (no pause) keep the server busy: its throughput is at most
            # cores / (CPU per click), so by Little's law their mean click -> board is at least n x CPU / cores
            # (their p95, in practice, above it); a Streamlit process runs its Python one thread at a time, so
            # it has about one core a replica (the GIL; torch's arithmetic, outside it, overlaps a little)
            cores = min(CORES, args.replicas)
            floor = n * cpus[n, patching] / cores
            print(f"{n} visitors: p95 {high / one[1]:.2f}x the single visitor's (target <= 3x); closed-loop floor "
                  f"on their mean: {n} x {cpus[n, patching] * 1000:.0f} ms CPU / {cores} core(s) = "
                  f"{floor * 1000:.0f} ms, {floor / one[1]:.2f}x the single visitor's p95 (their mean: "
                  f"{means[n, patching] * 1000:.0f} ms)")
        if patching and (n, False) in rows:
            print(f"{n} visitor(s) with one patching: p95 {high / rows[n, False][1]:.2f}x without (target <= 1.5x)")


if __name__ == "__main__":
    main()
