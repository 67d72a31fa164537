"""GPU figures for a trained run folder: training MFU, forward latency/throughput, the app's
full analysis, and legal top-1 on the real eOthello games.

    python bench/bench_gpu.py RUN_DIR [--json OUT.json]

Runs on the lent GPU machine at the end of ``scripts/gpu_train.sh``; each part is independent
and a failing part is reported, not fatal. The TransformerLens part (the app's analysis) needs
transformer_lens importable (carried there as wheels). Prints figures only.

MFU = achieved training FLOP/s / the H100 SXM's dense bf16 peak (989.4 TFLOP/s), with FLOPs per
game = 59 tokens x (6 x matmul parameters + 12 x layers x d_model x 59) (forward + backward,
attention scores and values included), also given against the bf16 matmul peak measured here.
"""
import argparse
import json
import time
import traceback
from pathlib import Path

import torch


from othello_core.model.evaluate import evaluate, real_games
from othello_core.model.gpt import OthelloGPT
from othello_core.model.weights import ModelShape, read_config, read_metrics, read_weights
from othello_core.rules.games import random_games
from othello_core.rules.notation import MODEL_CONTEXT
from timing import median_time

H100_BF16_DENSE = 989.4e12
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # cpu: only to check the script


def training_flops_per_game(shape: ModelShape) -> float:
    d, layers, t = shape.d_model, shape.n_layers, MODEL_CONTEXT
    matmul_params = layers * (4 * d * d + 2 * d * shape.d_mlp) + d * shape.d_vocab
    return t * (6 * matmul_params + 12 * layers * d * t)


def median_seconds(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` (synchronised on CUDA), after two warm-ups."""
    return median_time(fn, repeats, warmup=2, device=DEVICE)


def matmul_peak(n: int = 8192) -> float:
    n = n if DEVICE == "cuda" else 512
    a = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    return 2 * n ** 3 / median_seconds(lambda: a @ b, 10)


def load_lean(run: Path) -> OthelloGPT:
    sd = read_weights(run)
    model = OthelloGPT(ModelShape.from_state_dict(sd))
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    return model.to(DEVICE).eval()


def part_training(run: Path, peak: float) -> dict:
    config = read_config(run)
    steps_before = config.get("earlier_training", {}).get("steps", 0)  # windows inherited via --init-from
    rows = read_metrics(run / "metrics.jsonl")
    windows = [r for r in rows if "games_per_s" in r and r["step"] > steps_before]
    steady = windows[1:] or windows  # the first window holds the warm-up
    games_per_s = sorted(r["games_per_s"] for r in steady)[len(steady) // 2]
    shape = ModelShape(**config["shape"])
    flops = games_per_s * training_flops_per_game(shape)
    return {"train_games_per_s_median": games_per_s, "train_tflops": flops / 1e12,
            "mfu_vs_h100_bf16_spec": flops / H100_BF16_DENSE, "mfu_vs_measured_matmul": flops / peak,
            "flops_per_game": training_flops_per_game(shape)}


@torch.inference_mode()
def part_forward(model: OthelloGPT) -> dict:
    tokens = torch.as_tensor(random_games(256, seed=0).tokens[:, :MODEL_CONTEXT]).to(DEVICE)
    out = {"fp32_b1_ms": median_seconds(lambda: model(tokens[:1]), 50) * 1e3,
           "fp32_b256_games_per_s": 256 / median_seconds(lambda: model(tokens), 20)}
    with torch.autocast(DEVICE, dtype=torch.bfloat16):
        out["bf16_b1_ms"] = median_seconds(lambda: model(tokens[:1]), 50) * 1e3
        out["bf16_b256_games_per_s"] = 256 / median_seconds(lambda: model(tokens), 20)
    return out


def part_real_games(model: OthelloGPT) -> dict:
    result = evaluate(lambda t: model(t), real_games(), batch_size=1024, device=DEVICE)
    return {"eothello_legal_top1": result["legal_top1"], "eothello_legal_set_f1": result["legal_set_f1"],
            "eothello_games": result["games"]}


def part_app_analysis(run: Path) -> dict:
    """The app's ModelService.analyze (one full game: cache of every stream and pattern)."""
    from othello_core.model.hooked_transformer import load_model
    from othello_core.analysis.service import ModelService
    model = load_model(str(run), device=DEVICE)
    service = ModelService(model, "gpu-run")
    game = random_games(1, seed=1)
    moves = tuple(int(m) for m in game.squares[0][:MODEL_CONTEXT] if m >= 0)
    tokens = torch.as_tensor(game.tokens[:, :len(moves)]).to(DEVICE)
    with torch.inference_mode():
        forward = median_seconds(lambda: model(tokens), 30)
    analysis = median_seconds(lambda: service.analyze(moves), 30)
    return {"tl_forward_b1_ms": forward * 1e3, "app_analysis_ms": analysis * 1e3,
            "analysis_over_forward": analysis / forward}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    run = Path(args.run_dir)
    figures: dict = {"device": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu",
                     "torch": torch.__version__}
    peak = matmul_peak()
    figures["bf16_matmul_peak_tflops"] = peak / 1e12
    model = None
    parts = [("training", lambda: part_training(run, peak)),
             ("forward", lambda: part_forward(model)),
             ("real games", lambda: part_real_games(model)),
             ("app analysis (TransformerLens)", lambda: part_app_analysis(run))]
    try:
        model = load_lean(run)
    except Exception:
        traceback.print_exc()
        parts = parts[:1] + parts[3:]
    for name, part in parts:
        start = time.perf_counter()
        try:
            result = part()
        except Exception as err:
            traceback.print_exc()
            result = {f"{name} failed": f"{type(err).__name__}: {err}"}
        figures |= result
        print(f"[{name}: {time.perf_counter() - start:.1f} s] "
              + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()),
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
