"""The SAE's own work per position against a bare forward of the game, figures only.

    python -m bench.bench_features [--repeats 15]      (from the repository root)

Encoding the game's stream with the SAE (what the Features page adds to the shared analysis) and one
steered forward (its live edit), each as a ratio to a bare forward of the same game. The page's rerun
against Play's, in the browser: `python -m bench.bench_app --reruns-only`.
"""
import argparse

import torch

from othello_core.analysis.sae.features import encode, load_feature_set, steered_probs
from othello_core.analysis.service import ModelService
from othello_core.rules import parse_game
from othello_core.rules.vocab import moves_to_tokens

from bench.timing import median_time

GAME = "f5d6c3d3c4f4c5b3c2e6c6b4b5d2e3a6c1b1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}")
    service = ModelService.load("bundled")
    fs = load_feature_set(service.folder)
    moves = parse_game(" ".join(GAME[i:i + 2] for i in range(0, len(GAME), 2))).moves
    tokens = torch.tensor([moves_to_tokens(moves)])
    analysis = service.analyze(moves)
    bare = median_time(lambda: service.run(tokens), args.repeats)
    enc = median_time(lambda: encode(fs, analysis.resid[fs.stream]), args.repeats)
    steer = median_time(lambda: steered_probs(service, fs, moves, len(moves) - 1, 0, "ablate"), args.repeats)
    print(f"per position: bare forward {bare * 1000:.1f} ms; SAE encode of the game {enc * 1000:.1f} ms "
          f"({enc / bare:.2f}x); one steered forward {steer * 1000:.1f} ms ({steer / bare:.2f}x)")


if __name__ == "__main__":
    main()
