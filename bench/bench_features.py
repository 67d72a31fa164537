"""The Features page's rerun against the Play page's, server side, figures only.

    python -m bench.bench_features [--repeats 7]      (from the repository root)

Both pages run in Streamlit's own harness (AppTest) on the same game and position, warm (caches
filled by a first run, as for a visitor clicking around). A rerun is what a click costs the server;
the target is Features at most 1.5x Play. Also: the SAE's own work per position (encode the game,
one steered forward) against a bare forward of the game.
"""
import argparse
import statistics
import time

import torch
from streamlit.testing.v1 import AppTest

from othello_core.analysis.sae.features import encode, load_feature_set, steered_probs
from othello_core.analysis.service import ModelService
from othello_core.rules import parse_game
from othello_core.rules.vocab import moves_to_tokens

from bench.timing import median_time

ENTRY = "app/streamlit_app.py"
GAME = "f5d6c3d3c4f4c5b3c2e6c6b4b5d2e3a6c1b1"


def rerun_time(page: str, repeats: int) -> float:
    """Median seconds of a warm rerun of ``page`` (the first run fills the caches and is not counted)."""
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.query_params["moves"] = GAME
    at.run()
    at.switch_page(page).run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}")
    play = rerun_time("views/play.py", args.repeats)
    features = rerun_time("views/features.py", args.repeats)
    print(f"warm rerun: Play {play * 1000:.0f} ms, Features {features * 1000:.0f} ms, "
          f"ratio {features / play:.2f}x (target <= 1.5x)")
    service = ModelService.load("bundled")
    fs = load_feature_set(service.folder)
    moves = parse_game(" ".join(GAME[i:i + 2] for i in range(0, len(GAME), 2))).moves
    tokens = torch.tensor([moves_to_tokens(moves)])
    analysis = service.analyze(moves)
    bare = median_time(lambda: service.run(tokens))
    enc = median_time(lambda: encode(fs, analysis.resid[fs.stream]))
    steer = median_time(lambda: steered_probs(service, fs, moves, len(moves) - 1, 0, "ablate"))
    print(f"per position: bare forward {bare * 1000:.1f} ms; SAE encode of the game {enc * 1000:.1f} ms "
          f"({enc / bare:.2f}x); one steered forward {steer * 1000:.1f} ms ({steer / bare:.2f}x)")


if __name__ == "__main__":
    main()
