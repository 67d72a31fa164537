"""Is the linear mine/theirs probe limited by its data or by the model?

    .venv/bin/python scripts/probe_data_scaling.py [--model bundled] [--games 8000] [--test-games 1000]

Collects the streams after layers 5-7 at every position of ``--games`` random games, then fits the
linear mine/theirs probe (``probes.fit_linear``, as ``probes train`` does) on growing training
sets and on the published span only (moves 6-54, as Nanda's and ARENA's probes are trained), and
prints held-out cell accuracy overall, over the published span, over moves 1-20 and 41-59 and at
the final position. Paper-size model on 2 CPU threads: ~3 min of forwards, ~6 min of fitting,
~2 GB of memory per 8,000 games.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from othello_core.games import random_games
from othello_core.model import load_model
from othello_core.notation import MODEL_CONTEXT
from othello_core.probes import PUBLISHED_SPAN, fit_linear, kind_targets

LAYERS = (5, 6, 7)  # blocks.{L-1}.hook_resid_post: "after layer L"


@torch.no_grad()
def every_position(model, games: int, seed: int, batch_size: int = 128):
    """Streams ``[layers, samples, d]`` (float16), targets ``[samples, 64]``, positions, games."""
    batch = random_games(games, seed=seed, labels=True)
    hooks = [f"blocks.{layer - 1}.hook_resid_post" for layer in LAYERS]
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    chunks = []
    for start in range(0, games, batch_size):
        _, cache = model.run_with_cache(tokens[start:start + batch_size], names_filter=set(hooks).__contains__,
                                        stop_at_layer=max(LAYERS))
        chunks.append(torch.stack([cache[h] for h in hooks]).half())
    game, pos = np.nonzero(np.arange(MODEL_CONTEXT)[None] < np.minimum(batch.lengths, MODEL_CONTEXT)[:, None])
    targets = kind_targets({k: v[game, pos] for k, v in batch.labels.items()}, "mine_theirs")
    return torch.cat(chunks, 1)[:, game, pos], torch.as_tensor(targets), pos, game


def print_scores(w, b, test, label: str) -> None:
    x, y, pos, _ = test
    right = ((torch.einsum("lnd,ldsc->lnsc", x.float(), w) + b[:, None]).argmax(-1) == y[None]).float()
    first, last = PUBLISHED_SPAN
    masks = {"all": pos >= 0, f"moves {first}-{last}": (pos >= first - 1) & (pos <= last - 1),
             "moves 1-20": pos < 20, "moves 41-59": pos >= 40, "move 59": pos == MODEL_CONTEXT - 1}
    for i, layer in enumerate(LAYERS):
        cells = "  ".join(f"{name} {right[i][torch.as_tensor(m)].mean():.4f}" for name, m in masks.items())
        print(f"{label:<40} after layer {layer}: {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--games", type=int, default=8000)
    parser.add_argument("--test-games", type=int, default=1000)
    args = parser.parse_args()
    start = time.time()
    model = load_model(args.model)
    train = every_position(model, args.games, seed=123)
    test = every_position(model, args.test_games, seed=456)
    print(f"activations: {train[0].shape[1]:,} train / {test[0].shape[1]:,} test positions "
          f"in {time.time() - start:.0f} s", flush=True)
    x, y, pos, game = train
    rng = np.random.default_rng(0)
    first, last = PUBLISHED_SPAN
    small = min(2400, args.games)
    for label, rows, epochs in [
            (f"{small} games x 20 positions (as shipped)", _sample(game, pos, small, 20, rng), 12),
            (f"{args.games} games x 20 positions", _sample(game, pos, args.games, 20, rng), 12),
            (f"{args.games} games x every position", np.arange(len(pos)), 6),
            (f"{args.games} games, moves {first}-{last} only", np.nonzero((pos >= first - 1) & (pos <= last - 1))[0], 6)]:
        t = time.time()
        w, b = fit_linear(x[:, torch.as_tensor(rows)], y[rows], 3, epochs=epochs)
        print_scores(w, b, test, f"{label} ({len(rows):,}, {time.time() - t:.0f} s)")


def _sample(game: np.ndarray, pos: np.ndarray, games: int, per_game: int, rng) -> np.ndarray:
    rows = [np.nonzero(game == g)[0] for g in range(games)]
    return np.concatenate([rng.choice(r, min(per_game, len(r)), replace=False) for r in rows])


if __name__ == "__main__":
    main()
