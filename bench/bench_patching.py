"""Activation patching of a new corrupted move, as the Circuits page runs it: seconds at several positions
(the corrupted move the nearest at or before the middle of the line), one torch thread a forward (the app's
setting), on one core and with the page's second core while it is free (``service.spare_core()``: on a quiet
machine, both cores).

    python -m bench.bench_patching [--positions 10,20,30,40] [--groups 4] [--whole] [--earliest] [--beside 8]

``--groups 1,2,4,8``: the positions one batched forward patches (``attribution.PATCH_GROUP`` is the page's);
``--whole`` times the first way beside it (one whole forward per layer and kind, every position a row);
``--earliest`` corrupts the earliest move that has a corruption instead (the most positions to patch);
``--beside S``: a visitor's click forward (a new 30-move line, every 10 ms) for S seconds alone, then beside one
patching after another at the last position given: its median and p95.
"""

import argparse
import itertools
import os
import statistics
import threading
import time

import torch

from othello_core.analysis import attribution as A
from othello_core.analysis.service import ModelService
from othello_core.rules.games import random_games
from othello_core.rules.hooks import BLOCK_OUTPUTS
from othello_core.rules.vocab import moves_to_tokens


def whole_forwards(service, clean, corrupt) -> None:
    """The earlier way: 24 whole forwards of a batch of n (the metric left out: the forwards are the cost)."""
    n = len(clean)
    names = [h(l) for h in BLOCK_OUTPUTS.values() for l in range(service.n_layers)]
    _, cache = service.run(torch.tensor([moves_to_tokens(clean)]), names=names)
    batch = torch.tensor([moves_to_tokens(corrupt)]).expand(n, -1)
    rows = torch.arange(n)
    for hook in BLOCK_OUTPUTS.values():
        for layer in range(service.n_layers):
            def patch(act, hook, saved=cache[hook(layer)][0]):
                act = act.clone()
                act[rows, rows] = saved[rows]
                return act
            service.run(batch, fwd_hooks=[(hook(layer), patch)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", default="10,20,30,40")
    parser.add_argument("--groups", default=str(A.PATCH_GROUP))
    parser.add_argument("--whole", action="store_true", help="time the 24 whole forwards too")
    parser.add_argument("--earliest", action="store_true", help="corrupt the earliest move that can be")
    parser.add_argument("--beside", type=float, default=0, help="seconds of clicks alone, then beside patching")
    args = parser.parse_args()
    torch.set_num_threads(1)
    service = ModelService.load("bundled")
    service.hook_free_model()  # made once per server, on its first patching: not timed
    batch = random_games(1, seed=3)
    game = tuple(batch.squares[0, :batch.lengths[0]].tolist())
    for n in (int(p) for p in args.positions.split(",")):
        clean = game[:n]
        # the nearest corruption at or before the middle (as the earlier figures), else after it
        order = range(n) if args.earliest else [*range(n // 2, -1, -1), *range(n // 2 + 1, n)]
        index = next(i for i in order if A.corrupt_one_move(clean, i))
        corrupt = A.corrupt_one_move(clean, index)
        line = f"position {n:2d} (corrupt move {index + 1}):"
        for group in (int(g) for g in args.groups.split(",")):
            for name, spare_core in (("one core", lambda: None), ("spare core", service.spare_core)):
                start = time.perf_counter()  # the spare core asked for at the start, as the page's worker does
                A.activation_patching(service, clean, corrupt, group=group, spare=spare_core())
                line += f" group {group}, {name}: {time.perf_counter() - start:5.2f} s;"
        if args.whole:
            start = time.perf_counter()
            whole_forwards(service, clean, corrupt)
            line += f" 24 whole forwards {time.perf_counter() - start:5.2f} s;"
        print(line + f" target <= 3 s (load {os.getloadavg()[0]:.1f})", flush=True)
    if args.beside:
        alone, beside = (clicks_beside(service, args.beside, (clean, corrupt) if patching else None)
                         for patching in (False, True))
        print(f"a click's forward alone median {alone[0]:.0f} ms, p95 {alone[1]:.0f} ms; beside patching at position "
              f"{len(clean)} median {beside[0]:.0f} ms ({beside[0] / alone[0]:.2f}x), p95 {beside[1]:.0f} ms "
              f"({beside[1] / alone[1]:.2f}x) (load {os.getloadavg()[0]:.1f})", flush=True)


def clicks_beside(service, seconds: float, patching: tuple | None) -> tuple[float, float]:
    """(median, p95) ms of ``service.analyze`` of a new 30-move line every 10 ms in a thread of its own (a
    visitor's click) for ``seconds``, beside one activation patching of ``patching`` (clean, corrupt) after
    another in this thread (as the app's worker runs it: a second core while one is spare), or alone."""
    games, times, stop = random_games(400, seed=9), [], threading.Event()

    def visitor() -> None:
        for game in itertools.cycle(range(400)):
            if stop.is_set():
                return
            start = time.perf_counter()
            service.analyze(tuple(games.squares[game, :30].tolist()))
            times.append(time.perf_counter() - start)
            time.sleep(0.01)
    clicking = threading.Thread(target=visitor)
    clicking.start()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if patching is None:
            time.sleep(0.1)
        else:
            A.activation_patching(service, *patching, spare=service.spare_core())
    stop.set()
    clicking.join()
    return statistics.median(times) * 1000, sorted(times)[int(0.95 * len(times))] * 1000

if __name__ == "__main__":
    main()
