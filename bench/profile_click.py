"""Where the server's time goes on a Play click: py-spy samples the Streamlit server while a visitor plays a
line (``bench.protocol_visitor``: the browser's websocket messages, so neither a page load nor a browser's
drawing is sampled), then the functions holding the most samples (inclusive, idle waits left out) are printed with
the server's CPU seconds per click.

    pip install py-spy && python -m bench.profile_click [--clicks 24] [--top 40]

This is how the post-run ``gc.collect(2)`` (43% of the samples) and the two-thread forward were found.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.bench_floor import cpu_seconds
from bench.protocol_visitor import Visitor
from othello_core.rules.games import random_games
from tests.browser import streamlit_process

IDLE = ("Condition.wait", "Queue.get", "select", "_worker (concurrent", "epoll",
        "polling_path_watcher.py:90")  # waits: the last one is the config watcher's time.sleep between polls


def inclusive(raw: Path) -> tuple[int, Counter]:
    """(busy samples, samples per function including its callees) from py-spy's raw (collapsed) output."""
    totals, busy = Counter(), 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if any(word in frames[-1] for word in IDLE):
            continue
        busy += int(count)
        for name in {frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].split(":")[0] for frame in frames[1:]}:
            totals[name] += int(count)
    return busy, totals


async def play(url: str, moves: list[int]) -> None:
    visitor = await Visitor.open(url, "moves=")
    for i, square in enumerate(moves):
        await visitor.click("play_board", square, f"{i + 1}_{i + 1}")
    await visitor.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=24)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :args.clicks].tolist()
    raw = Path(tempfile.mkdtemp()) / "server.txt"
    with streamlit_process() as (url, proc):
        asyncio.run(play(url, moves[:2]))  # the model loads, the caches warm: not profiled
        sampler = subprocess.Popen([spy, "record", "-p", str(proc.pid), "-o", str(raw), "--format", "raw", "-r", "200",
                                    "--threads"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        before = cpu_seconds(proc.pid)
        asyncio.run(play(url, moves))
        cpu = (cpu_seconds(proc.pid) - before) / len(moves)
        sampler.send_signal(2)
        sampler.wait(60)
    busy, totals = inclusive(raw)
    print(f"server CPU per click {cpu * 1000:.0f} ms over {len(moves)} clicks; {busy} busy samples at 200 Hz")
    for name, count in totals.most_common(args.top):
        print(f"{count / busy:6.1%}  {name}")


if __name__ == "__main__":
    main()
