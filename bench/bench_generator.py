"""Random-game generator throughput on one core: games/s, tokens only and with labels.

    python bench/bench_generator.py [--games 20000]

Target (issue 2): >= 15,000 games/s/core for tokens. Prints figures, asserts nothing.
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from othello_core.rules.games import random_games


def rate(n: int, labels: bool, repeats: int = 3) -> float:
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        random_games(n, seed=r, labels=labels)
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, default=20000)
    args = parser.parse_args()
    random_games(1000, seed=0)  # warm-up
    tokens = rate(args.games, labels=False)
    labelled = rate(args.games // 4, labels=True)
    print(f"tokens only : {tokens:10,.0f} games/s/core  (target 15,000: {tokens / 15000:.2f}x)")
    print(f"with labels : {labelled:10,.0f} games/s/core  ({labelled / tokens:.2f}x of tokens only)")


if __name__ == "__main__":
    main()
