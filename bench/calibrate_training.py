"""Issue 27's calibration, the first minute or two of the device call: which batch size and
``torch.compile`` mode train fastest on this GPU, and whether the game generator keeps up. Prints
figures and writes the choice as JSON for ``scripts/gpu_train.sh``.

    python bench/calibrate_training.py [--settings default:512 default:2048 reduce-overhead:2048 ...]
        [--workers 14] [--budget-s 100] [--json OUT] [--n-layers 8 --d-model 512 --n-heads 8]

1. The model's own speed: for each setting (compile mode : batch size), ``train.optimizer_step`` -- the
   training step itself (bf16 autocast, fused AdamW, clipping, the sync-free loss) -- on one batch of
   labelled games held on the device, timed after the compiling steps. Each setting compiles anew
   (~15-30 s on an H100 for the paper's shape), so they are tried in the order given, the most telling
   first, until ``--budget-s`` is spent; a setting that fails (out of memory, a compile error) is
   reported.
2. The generator's speed: the training DataLoader (``train.game_batches``, ``--workers`` processes)
   alone, its start-up excluded.
3. The choice (``choose``): the fastest setting once capped by the generator, and among the settings
   within 3% of that, the smallest batch (more optimizer steps for the same games).

MFU as in ``bench_gpu.py``: training FLOP/s over the 989.4 TFLOP/s dense bf16 spec of the H100 and
H200, and over the bf16 matmul peak measured here. On a CPU (the preflight's dry run) nothing is
compiled and the figures only show that the script runs.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from bench_gpu import DEVICE, H100_BF16_DENSE, matmul_peak, training_flops_per_game
from othello_core.model.gpt import OthelloGPT
from othello_core.model.train import (
    Progress, Runtime, TrainConfig, game_batches, make_batch, make_optimizer, optimizer_step, wrap_for_training,
)
from othello_core.model.train_config import COMPILE_MODES
from timing import sync

NEAR_BEST = 0.97  # settings this close to the fastest count as equally fast
# the most telling first: the H100/H200 runs' setting (512), a 4x batch with and without CUDA graphs, ...
DEFAULT_SETTINGS = [("default", 512), ("default", 2048), ("reduce-overhead", 2048), ("default", 4096),
                    ("reduce-overhead", 512), ("default", 1024), ("reduce-overhead", 4096)]


def parse_setting(text: str) -> tuple[str, int]:
    """``MODE:BATCH`` -> (mode, batch).

    >>> parse_setting("reduce-overhead:2048")
    ('reduce-overhead', 2048)
    """
    mode, _, batch = text.rpartition(":")
    if mode not in COMPILE_MODES or not batch.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected MODE:BATCH with MODE one of {COMPILE_MODES}")
    return mode, int(batch)


def choose(rows: list[dict], generator_games_per_s: float) -> dict:
    """The setting to train with: the highest step throughput capped by the generator's, and among those
    within 3% of it the smallest batch, then the first mode tried.

    >>> rows = [{"mode": "default", "batch": 512, "games_per_s": 30_000.0},
    ...         {"mode": "default", "batch": 2048, "games_per_s": 52_000.0},
    ...         {"mode": "default", "batch": 4096, "games_per_s": 55_000.0},
    ...         {"mode": "reduce-overhead", "batch": 1024, "error": "OutOfMemoryError"}]
    >>> choose(rows, 60_000.0)["batch"]        # 52k is not within 3% of 55k
    4096
    >>> choose(rows, 50_000.0)["batch"]        # the generator caps both at 50k: the smaller batch
    2048
    """
    timed = [r for r in rows if "games_per_s" in r]
    if not timed:
        raise ValueError("no setting could be timed: see the errors above")
    capped = {id(r): min(r["games_per_s"], generator_games_per_s) for r in timed}
    best = max(capped.values())
    near = [r for r in timed if capped[id(r)] >= NEAR_BEST * best]
    pick = min(near, key=lambda r: (r["batch"], timed.index(r)))
    return pick | {"capped_games_per_s": capped[id(pick)]}


def lr_for_batch(base_lr: float, batch: int, base_batch: int = 512) -> float:
    """The learning rate for ``batch``, scaled from ``base_lr`` at ``base_batch`` by the square root of the
    ratio (Adam's rule of thumb: the gradient noise falls with the square root of the batch).

    >>> lr_for_batch(3e-4, 2048)
    0.0006
    """
    return base_lr * (batch / base_batch) ** 0.5


def time_setting(cfg: TrainConfig, runtime: Runtime, warmup: int, min_seconds: float) -> dict:
    """Games/s of the training step at ``cfg``'s batch and compile mode, on one batch held on the device."""
    model = OthelloGPT(cfg.shape()).to(runtime.device)
    optimizer = make_optimizer(model, cfg, runtime)
    trained = wrap_for_training(model, cfg, runtime)
    inputs, targets = (t.to(runtime.device) for t in make_batch(cfg.batch_size, seed=0, target=cfg.target))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=runtime.cuda and cfg.bf16)
    start = time.perf_counter()
    for _ in range(warmup):  # compilation (and CUDA-graph recording) happen here
        optimizer_step(model, trained, optimizer, inputs, targets, cfg.lr, cfg, autocast)
    sync(runtime.device)
    compile_s = time.perf_counter() - start
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(10):
            optimizer_step(model, trained, optimizer, inputs, targets, cfg.lr, cfg, autocast)
        steps += 10
        sync(runtime.device)
        if time.perf_counter() - start >= min_seconds:
            break
    seconds = time.perf_counter() - start
    return {"step_ms": 1e3 * seconds / steps, "games_per_s": cfg.batch_size * steps / seconds,
            "compile_s": compile_s, "steps_timed": steps}


def generator_rate(cfg: TrainConfig, runtime: Runtime, seconds: float) -> float:
    """Labelled games/s the training DataLoader delivers with ``cfg.workers`` processes (start-up excluded)."""
    batches = game_batches(cfg, runtime, Progress())
    next(batches)
    games, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        inputs, _ = next(batches)
        games += len(inputs)
    return games / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS, type=parse_setting,
                        help="MODE:BATCH, tried in this order (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=14)
    parser.add_argument("--budget-s", type=float, default=100.0, help="no new setting is tried after this")
    parser.add_argument("--step-seconds", type=float, default=2.0, help="timed seconds per setting")
    parser.add_argument("--generator-seconds", type=float, default=6.0)
    parser.add_argument("--n-layers", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--n-heads", type=int, default=8)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    runtime = Runtime(DEVICE)
    started = time.perf_counter()
    peak = matmul_peak()
    shape = TrainConfig(n_layers=args.n_layers, d_model=args.d_model, n_heads=args.n_heads).shape()
    flops_per_game = training_flops_per_game(shape)
    print(f"[calibration] {torch.cuda.get_device_name() if runtime.cuda else 'cpu'}, bf16 matmul peak "
          f"{peak / 1e12:.0f} TFLOP/s, {flops_per_game / 1e9:.2f} GFLOP per training game", flush=True)
    rows = []
    for mode, batch in args.settings:
        row = {"mode": mode, "batch": batch}
        if time.perf_counter() - started > args.budget_s:
            rows.append(row | {"skipped": f"the {args.budget_s:.0f} s budget was spent"})
            print(f"[calibration] {mode:>16} batch {batch:>5}: skipped, {rows[-1]['skipped']}", flush=True)
            continue
        cfg = TrainConfig(n_layers=args.n_layers, d_model=args.d_model, n_heads=args.n_heads, batch_size=batch,
                          target="legal", compile=True, compile_mode=mode, workers=args.workers)
        try:
            row |= time_setting(cfg, runtime, warmup=3, min_seconds=args.step_seconds)
            flops = row["games_per_s"] * flops_per_game
            row |= {"tflops": flops / 1e12, "mfu_vs_spec": flops / H100_BF16_DENSE, "mfu_vs_matmul_peak": flops / peak}
            print(f"[calibration] {mode:>16} batch {batch:>5}: {row['step_ms']:7.2f} ms/step, "
                  f"{row['games_per_s']:9,.0f} games/s, MFU {row['mfu_vs_spec']:.1%} of the spec "
                  f"({row['mfu_vs_matmul_peak']:.1%} of the measured peak), compile {row['compile_s']:.1f} s",
                  flush=True)
        except Exception as err:  # noqa: BLE001 - one failing setting must not end the calibration
            row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
            print(f"[calibration] {mode:>16} batch {batch:>5}: failed, {row['error']}", flush=True)
        finally:
            torch._dynamo.reset()
            if runtime.cuda:
                torch.cuda.empty_cache()
        rows.append(row)
    timed = [r for r in rows if "games_per_s" in r]
    gen_cfg = TrainConfig(batch_size=max(r["batch"] for r in timed) if timed else args.settings[0][1],
                          target="legal", workers=args.workers)
    generator = generator_rate(gen_cfg, runtime, args.generator_seconds)
    print(f"[calibration] generator: {generator:,.0f} labelled games/s with {args.workers} worker processes "
          f"(batches of {gen_cfg.batch_size})", flush=True)
    choice = choose(rows, generator)
    limit = "the generator" if choice["capped_games_per_s"] < choice["games_per_s"] else "the GPU step"
    print(f"[calibration] chosen: {choice['mode']}, batch {choice['batch']}: {choice['capped_games_per_s']:,.0f} "
          f"games/s, limited by {limit} ({time.perf_counter() - started:.0f} s in all)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": DEVICE, "matmul_peak_tflops": peak / 1e12, "flops_per_game": flops_per_game,
                       "generator_games_per_s": generator, "workers": args.workers, "rows": rows,
                       "choice": choice, "limited_by": limit}, f, indent=1)


if __name__ == "__main__":
    main()
