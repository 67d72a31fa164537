"""Forward latency (one game, B=1) and throughput (B=256) next to the FLOP bound.

    python bench/bench_forward.py [--threads 1] [--device cpu]

For the bundled model and for the paper's shape (random weights): median latency of one
59-token game, games/s at B=256, and each as a ratio to the FLOP bound
2 x params x tokens / (matmul peak measured in this same run); then the bundled model's one-token forward (the
click that plays a move, keys and values of the line kept) as loaded and with ``inference_layout`` (the
attention weights stored as TransformerLens's forward reads them). Prints figures only.
"""
import argparse

import torch


from othello_core.model.hooked_transformer import (build_model, fork_cache, inference_layout, key_value_cache,
                                                   load_model)
from othello_core.model.weights import PAPER_SHAPE, n_parameters
from othello_core.rules.games import random_games
from timing import median_time


def matmul_peak(device: str, n: int = 2048, repeats: int = 5, dtype=torch.float32) -> float:
    """The best of ``repeats`` n x n x n matrix products, in FLOP/s."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = min(median_time(lambda: a @ b, repeats=1, warmup=0, device=device) for _ in range(repeats))
    return 2 * n ** 3 / best


@torch.inference_mode()
def timed(model, tokens, repeats: int, device: str) -> float:
    return median_time(lambda: model(tokens), repeats, warmup=1, device=device)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    peak = matmul_peak(device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, "
          f"measured fp32 matmul peak {peak / 1e9:,.1f} GFLOP/s")
    tokens = torch.as_tensor(random_games(args.batch, seed=0).tokens[:, :59]).to(device)
    models = {"bundled": load_model("bundled", device=device),
              "paper shape (random)": build_model(PAPER_SHAPE, device=device, seed=0)}
    for name, model in models.items():
        params = n_parameters(model)
        one = timed(model, tokens[:1], 7, device)
        many = timed(model, tokens, 3, device)
        bound_one = 2 * params * 59 / peak
        bound_many = 2 * params * 59 * len(tokens) / peak
        print(f"{name:>22}: {params:>11,} params | B=1 {one * 1000:8.1f} ms "
              f"({one / bound_one:5.1f}x FLOP bound) | B={len(tokens)} {len(tokens) / many:9,.0f} games/s "
              f"({many / bound_many:5.2f}x FLOP bound)")
    model = models["bundled"]
    kv = key_value_cache(model)
    with torch.inference_mode():
        model(tokens[:1, :30], past_kv_cache=kv, attention_mask=torch.ones(1, 30, dtype=torch.long, device=device))
    mask = torch.ones(1, 1, dtype=torch.long, device=device)
    step = lambda: model(tokens[:1, 30:31], past_kv_cache=fork_cache(kv), attention_mask=mask)  # noqa: E731
    as_loaded = median_time(torch.inference_mode()(step), 21, warmup=2, device=device)
    inference_layout(model)
    restrided = median_time(torch.inference_mode()(step), 21, warmup=2, device=device)
    print(f"one-token forward after 30 tokens: {as_loaded * 1000:.1f} ms as loaded, {restrided * 1000:.1f} ms with "
          f"inference_layout ({as_loaded / restrided:.2f}x)")


if __name__ == "__main__":
    main()
