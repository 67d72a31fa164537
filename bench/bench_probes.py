"""Probe training time for every layer of the bundled model (target: under 15 minutes here).

    python bench/bench_probes.py [--games 3000] [--positions 20] [--epochs 12]

Runs the same pipeline as `python -m othello_core probes train` (without saving) and
prints the time of each stage. Figures only.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from othello_core.games import GameBatch, random_games  # noqa: E402
from othello_core.model import load_model, model_hash  # noqa: E402
from othello_core.probes import collect_activations, train_probes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, default=3000)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = load_model("bundled", device="cpu")
    batch = random_games(args.games, seed=10_000, labels=True)
    split = int(args.games * 0.8)
    parts = [GameBatch(batch.squares[s], batch.lengths[s], {k: v[s] for k, v in batch.labels.items()})
             for s in (slice(0, split), slice(split, None))]
    t1 = time.perf_counter()
    acts = [collect_activations(model, p, args.positions) for p in parts]
    t2 = time.perf_counter()
    _, report = train_probes(acts[0], acts[1], model_hash(model), epochs=args.epochs)
    t3 = time.perf_counter()
    print(f"games + labels {t1 - t0:.1f} s | activations {t2 - t1:.1f} s | "
          f"5 linear + 4 MLP probe kinds x {acts[0].resid.shape[0]} streams {t3 - t2:.1f} s | "
          f"total {(t3 - t0) / 60:.1f} min (target < 15 min)")


if __name__ == "__main__":
    main()
