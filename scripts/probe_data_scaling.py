"""Is the linear mine/theirs probe limited by its data or by the model?

    .venv/bin/python scripts/probe_data_scaling.py [--model bundled] [--games 8000] [--test-games 1000]

Collects the streams after layers 5-7 at every position of ``--games`` random games, then fits the
linear mine/theirs probe (``probes.fit_linear``, as ``probes train`` does) on growing training
sets and on the published span only (moves 6-54, as Nanda's and ARENA's probes are trained), and
prints held-out cell accuracy overall, over the published span, over moves 1-20 and 41-59 and at
the final position. The last fit labels "mine" by strict alternation (black after an even number
of moves), as ARENA's code does, instead of by the true next mover after passes. Paper-size model
on 2 CPU threads: ~4 min of forwards, ~5 min of fitting, ~2 GB of memory per 8,000 games.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import time

import numpy as np
import torch

from othello_core.analysis.probes import LINEAR_FIT, PUBLISHED_SPAN, fit_linear, in_published_span, kind_targets
from othello_core.model.hooked_transformer import load_model
from othello_core.rules.board import BLACK
from othello_core.rules.games import mover_by_alternation, random_games
from othello_core.rules.hooks import stream_hooks
from othello_core.rules.notation import MODEL_CONTEXT

LAYERS = (5, 6, 7)  # streams "after layer L" (probes.stream_hooks)


@torch.no_grad()
def every_position(model, games: int, seed: int, batch_size: int = 128):
    """Streams ``[layers, samples, d]`` (float16), mine/theirs targets ``[samples, 64]`` by the true
    next mover and by strict alternation, positions, games."""
    batch = random_games(games, seed=seed, labels=True)
    hooks = [stream_hooks(model.cfg.n_layers)[layer] for layer in LAYERS]
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    chunks = []
    for start in range(0, games, batch_size):
        _, cache = model.run_with_cache(tokens[start:start + batch_size], names_filter=set(hooks).__contains__,
                                        stop_at_layer=max(LAYERS))
        chunks.append(torch.stack([cache[h] for h in hooks]).half())
    game, pos = np.nonzero(np.arange(MODEL_CONTEXT)[None] < np.minimum(batch.lengths, MODEL_CONTEXT)[:, None])
    labels = {k: v[game, pos] for k, v in batch.labels.items()}
    colour = kind_targets(labels, "black_white")  # 0 empty, 1 black, 2 white
    mine_by_alternation = np.where(mover_by_alternation(pos) == BLACK, 1, 2)[:, None]  # as colour classes
    by_alternation = np.where(colour == 0, 0, np.where(colour == mine_by_alternation, 1, 2))
    return (torch.cat(chunks, 1)[:, game, pos], torch.as_tensor(kind_targets(labels, "mine_theirs")),
            torch.as_tensor(by_alternation), pos, game)


def print_scores(w, b, x, y, pos, label: str) -> None:
    right = ((torch.einsum("lnd,ldsc->lnsc", x.float(), w) + b[:, None]).argmax(-1) == y[None]).float()
    first, last = PUBLISHED_SPAN
    masks = {"all": pos >= 0, f"moves {first}-{last}": in_published_span(pos),
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
    x, y, y_alternation, pos, game = train
    x_test, y_test, y_test_alternation, pos_test, _ = test
    rng = np.random.default_rng(0)
    first, last = PUBLISHED_SPAN
    small = min(2400, args.games)
    every = np.arange(len(pos))
    for label, rows, epochs, alternation in [
            (f"{small} games x 20 positions (as shipped)", _sample(game, pos, small, 20, rng), 12, False),
            (f"{args.games} games x 20 positions", _sample(game, pos, args.games, 20, rng), 12, False),
            (f"{args.games} games x every position", every, 6, False),
            (f"{args.games} games, moves {first}-{last} only", np.nonzero(in_published_span(pos))[0], 6, False),
            (f"{args.games} games x every position, by alternation", every, 6, True)]:
        t = time.time()
        targets = y_alternation if alternation else y
        w, b = fit_linear(x[:, torch.as_tensor(rows)], targets[rows], 3,
                          replace(LINEAR_FIT, max_epochs=epochs, stop_delta=None)).params
        print_scores(w, b, x_test, y_test_alternation if alternation else y_test, pos_test,
                     f"{label} ({len(rows):,}, {time.time() - t:.0f} s)")


def _sample(game: np.ndarray, pos: np.ndarray, games: int, per_game: int, rng) -> np.ndarray:
    rows = [np.nonzero(game == g)[0] for g in range(games)]
    return np.concatenate([rng.choice(r, min(per_game, len(r)), replace=False) for r in rows])


if __name__ == "__main__":
    main()
