"""Dashboard speed in a real browser (Debian chromium + playwright), figures only.

    python -m bench.bench_app [--clicks 40]      (from the repository root: it drives the app in tests/)

1. cold start: server start -> first board rendered in the browser;
2. click -> updated board (median over N clicks of legal moves), with the real model and with
   the model call replaced by a no-op (bench/noop_model), and their ratio (target <= 1.5x);
3. full position analysis (forward + cache + every probe reconstruction + predictions) as a
   ratio to a bare forward of the same moves (target <= 1.3x).
"""
import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from tests.browser import chromium, play_board, point_at_square, streamlit_server, wait_for_app


def click_latencies(url: str, moves: list[int], browser) -> tuple[float, list[float], int]:
    """(cold start, click -> updated board per clean click, clicks lost: pressed but not played)."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    start = time.perf_counter()
    page.goto(url + "/")
    wait_for_app(page)
    page.wait_for_selector(play_board(0), timeout=120_000)
    cold = time.perf_counter() - start
    times, dropped = [], 0
    for i, square in enumerate(moves):
        wait_for_app(page)
        page.wait_for_selector(play_board(i), timeout=60_000)
        for attempt in range(3):  # a click that lands while the chart re-mounts is lost: retry
            point_at_square(page, square, play_board(i))  # onto the square first, as a person does
            start = time.perf_counter()
            page.mouse.down()
            page.mouse.up()
            try:
                page.wait_for_function(f"() => document.body.innerText.includes('{i + 1}/{i + 1} moves')",
                                       timeout=20_000)
            except Exception:
                dropped += 1
                continue
            page.wait_for_selector(play_board(i + 1), timeout=60_000)
            if attempt == 0:  # only clean samples count
                times.append(time.perf_counter() - start)
            break
    page.close()
    return cold, times, dropped


def analysis_ratio(repeats: int = 15) -> tuple[float, float]:
    import torch

    from othello_core.rules.games import random_games
    from othello_core.analysis.service import ModelService
    service = ModelService.load("bundled")
    batch = random_games(1, seed=3)
    moves = tuple(batch.squares[0, :batch.lengths[0]].tolist())
    tokens = torch.as_tensor(batch.tokens[:, :59])

    from timing import median_time
    with torch.inference_mode():
        bare = median_time(lambda: service.model(tokens), repeats)
    position = len(moves) // 2
    full = median_time(lambda: service.probe_position(service.analyze(moves), position), repeats)
    return full, bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=40)
    args = parser.parse_args()
    from othello_core.rules.games import random_games
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :min(args.clicks, int(batch.lengths[0]))].tolist()
    results = {}
    with chromium() as browser:
        for label, env in (("model", {}), ("no-op", {"PYTHONPATH": str(ROOT / "bench" / "noop_model")})):
            start = time.perf_counter()
            with streamlit_server(env=env) as url:
                server = time.perf_counter() - start
                cold, times, dropped = click_latencies(url, moves, browser)
            results[label] = statistics.median(times)
            print(f"{label:>6}: server healthy {server:5.1f} s, first board {cold:5.1f} s after load; "
                  f"click -> updated board median {results[label] * 1000:6.0f} ms over {len(times)} clicks "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); dropped clicks {dropped} of "
                  f"{len(moves)} (target 0)")
    print(f"click latency ratio model / no-op: {results['model'] / results['no-op']:.2f}x (target <= 1.5x)")
    full, bare = analysis_ratio()
    print(f"full analysis {full * 1000:.1f} ms vs bare forward {bare * 1000:.1f} ms: "
          f"{full / bare:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
