"""Dashboard speed in a real browser (Debian chromium + playwright), figures only.

    python -m bench.bench_app [--clicks 12]      (from the repository root: it drives the app in tests/)

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

from tests.browser import board_cell_centre, chromium, streamlit_server, wait_for_app


def click_latencies(url: str, moves: list[int], browser) -> tuple[float, list[float]]:
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    start = time.perf_counter()
    page.goto(url + "/")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .nsewdrag', timeout=120_000)
    cold = time.perf_counter() - start
    times = []
    for i, square in enumerate(moves):
        wait_for_app(page)
        page.wait_for_selector('[data-testid="stPlotlyChart"] .nsewdrag', timeout=60_000)
        for attempt in range(3):  # a click that lands while the chart re-mounts is lost: retry
            x, y = board_cell_centre(page, square)
            start = time.perf_counter()
            page.mouse.click(x, y)
            try:
                page.wait_for_function(f"() => document.body.innerText.includes('{i + 1}/{i + 1} moves')",
                                       timeout=20_000)
            except Exception:
                continue
            page.wait_for_selector('[data-testid="stPlotlyChart"] .nsewdrag', timeout=60_000)
            if attempt == 0:  # only clean samples count
                times.append(time.perf_counter() - start)
            break
    page.close()
    return cold, times


def analysis_ratio(repeats: int = 15) -> tuple[float, float]:
    import torch

    from othello_core.games import random_games
    from othello_core.service import ModelService
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
    parser.add_argument("--clicks", type=int, default=12)
    args = parser.parse_args()
    from othello_core.games import random_games
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :args.clicks].tolist()
    results = {}
    with chromium() as browser:
        for label, env in (("model", {}), ("no-op", {"PYTHONPATH": str(ROOT / "bench" / "noop_model")})):
            start = time.perf_counter()
            with streamlit_server(env=env) as url:
                server = time.perf_counter() - start
                cold, times = click_latencies(url, moves, browser)
            results[label] = statistics.median(times)
            print(f"{label:>6}: server healthy {server:5.1f} s, first board {cold:5.1f} s after load; "
                  f"click -> updated board median {results[label] * 1000:6.0f} ms over {len(times)} clicks "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    print(f"click latency ratio model / no-op: {results['model'] / results['no-op']:.2f}x (target <= 1.5x)")
    full, bare = analysis_ratio()
    print(f"full analysis {full * 1000:.1f} ms vs bare forward {bare * 1000:.1f} ms: "
          f"{full / bare:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
