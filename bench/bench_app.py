"""Dashboard speed in a real browser (Debian chromium + playwright), figures only.

    python -m bench.bench_app [--clicks 40]      (from the repository root: it drives the app in tests/)

1. cold start: server start -> first board rendered in the browser;
2. N consecutive clicks as a person makes them (the pointer moves onto the square, the board
   names it, then press and release): click -> updated board (median), with the real model and with
   the model call replaced by a no-op (bench/noop_model), their ratio (target <= 1.2x), and the
   clicks dropped (pressed but not played; target 0);
3. each page's rerun (the R key; from the app root's script state leaving notRunning until it is
   notRunning again and painted, warm caches) as a ratio to Play's (target <= 1.5x);
4. full position analysis (forward + cache + every probe reconstruction + predictions) as a
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
        for attempt in range(3):  # a click the server never ran (lost) is pressed again
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


PAGES = ("", "probes", "interventions", "circuits", "attention", "features", "graph", "search", "findings", "model", "present")
RERUN = """() => { window.__rerun = new Promise((resolve) => {
  const app = document.querySelector('[data-testid="stApp"]');
  let start = null;
  const watch = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state !== 'notRunning' && start === null) start = performance.now();  // rerunRequested or running
    if (state === 'notRunning' && start !== null) {
      watch.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - start)));
    }
  });
  watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  setTimeout(() => { watch.disconnect(); resolve(NaN); }, 120000);  // a rerun that never came
}); }"""


def page_reruns(url: str, query: str, browser, repeats: int = 5) -> dict[str, float]:
    """Median warm rerun time of each page (seconds), pressed R as a person would."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    out = {}
    for path in PAGES:
        page.goto(f"{url}/{path}?{query}")
        wait_for_app(page, 180_000)
        times = []
        for i in range(repeats + 1):  # the first rerun warms what the first load did not
            page.evaluate("() => document.activeElement && document.activeElement.blur()")  # R in a box types
            page.evaluate(RERUN)  # the watcher first, then the key
            page.keyboard.press("r")
            elapsed = page.evaluate("() => window.__rerun") / 1000
            wait_for_app(page, 180_000)
            if i and elapsed == elapsed:  # NaN: the key press started no rerun (counted out)
                times.append(elapsed)
        out[path or "play"] = statistics.median(times) if times else float("nan")
        print(f"  rerun {path or 'play'}: {times}", flush=True)
    page.close()
    return out


def analysis_ratio(repeats: int = 15) -> tuple[float, float]:
    import torch

    from othello_core.rules.games import random_games
    from othello_core.analysis.service import ModelService
    service = ModelService.load("bundled")
    batch = random_games(1, seed=3)
    moves = tuple(batch.squares[0, :batch.lengths[0]].tolist())
    tokens = torch.as_tensor(batch.tokens[:, :59])

    from bench.timing import median_time
    with torch.inference_mode():
        bare = median_time(lambda: service.model(tokens), repeats)
    position = len(moves) // 2
    full = median_time(lambda: service.probe_position(service.analyze(moves), position), repeats)
    return full, bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--reruns-only", action="store_true", help="only each page's rerun against Play's")
    args = parser.parse_args()
    from othello_core.rules.games import random_games
    from othello_core.rules.notation import format_moves
    batch = random_games(1, seed=11)
    moves = batch.squares[0, :min(args.clicks, int(batch.lengths[0]))].tolist()
    results = {}
    with chromium() as browser:
        for label, env in () if args.reruns_only else (("model", {}), ("no-op", {"PYTHONPATH": str(ROOT / "bench" / "noop_model")})):
            start = time.perf_counter()
            with streamlit_server(env=env) as url:
                server = time.perf_counter() - start
                cold, times, dropped = click_latencies(url, moves, browser)
            results[label] = statistics.median(times)
            print(f"{label:>6}: server healthy {server:5.1f} s, first board {cold:5.1f} s after load; "
                  f"click -> updated board median {results[label] * 1000:6.0f} ms over {len(times)} clicks "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); dropped clicks {dropped} of "
                  f"{len(moves)} (target 0)")
    if results:
        print(f"click latency ratio model / no-op: {results['model'] / results['no-op']:.2f}x (target <= 1.2x)")
    query = "moves=" + format_moves(moves[:20]) + "&edit=" + format_moves([moves[0]])
    with chromium() as browser, streamlit_server() as url:
        reruns = page_reruns(url, query, browser)
    play = reruns["play"]
    for name, seconds in reruns.items():
        print(f"rerun {name:>13}: {seconds * 1000:6.0f} ms = {seconds / play:.2f}x Play's (target <= 1.5x)")
    if args.reruns_only:
        return
    full, bare = analysis_ratio()
    print(f"full analysis {full * 1000:.1f} ms vs bare forward {bare * 1000:.1f} ms: "
          f"{full / bare:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
