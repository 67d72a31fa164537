"""What the server sends for one Play click: one protocol visitor (``bench.protocol_visitor``) plays the 12-move
line of ``random_games(1, seed=11)`` on one server; per click, the bytes and websocket messages of the run, and
the part of them that is components' code (JavaScript and CSS sent with the element; ``app/static_component.py``
serves the app's as files).

    python -m bench.bench_click_bytes [--moves 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from othello_core.rules.games import random_games
from tests.browser import streamlit_process
from bench.protocol_visitor import Visitor


async def play(url: str, moves: list[int]) -> list[tuple[int, int, int]]:
    """(bytes, messages, components' code bytes) of each click's run."""
    visitor, runs = await Visitor.open(url, "moves="), []
    for i, square in enumerate(moves):
        board, _ = await visitor.click("play_board", square, f"{i + 1}_{i + 1}")
        if board is None:
            raise RuntimeError(f"click {i + 1} ({square}) was not played")
        runs.append((visitor.run_bytes, visitor.run_messages, sum(len(js) + len(css) for _, js, css in visitor.code)))
    await visitor.close()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=12)
    args = parser.parse_args()
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :args.moves].tolist()
    with streamlit_process() as (url, _):
        runs = asyncio.run(play(url, moves))
    sent, messages, code = (statistics.median(r[k] for r in runs) for k in range(3))
    print(f"a Play click (median of {len(runs)}): {sent / 1000:.1f} KB in {messages:.0f} messages, of which "
          f"components' code {code / 1000:.1f} KB ({code / sent:.0%})")


if __name__ == "__main__":
    main()
