"""GPU figures for a trained run folder: training MFU, forward latency/throughput, the app's
work per position (full analysis, an edit, DLA, the Features page's SAE work), and legal top-1 on the
real eOthello games.

    python bench/bench_gpu.py RUN_DIR [--json OUT.json]

Runs on the lent GPU machine at the end of ``scripts/gpu_train.sh``; each part is independent
and a failing part is reported, not fatal. The TransformerLens part (the app's work) needs
transformer_lens and sae_lens importable (carried there as wheels: scripts/fetch_device_wheels.sh).
Prints figures only.

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


def app_feature_set(folder: Path):
    """The SAE in ``folder`` for timing: freshly trained on the device, it has no report yet (measured on
    the CPU afterwards), which timing does not need."""
    from othello_core.analysis.sae.features import FeatureSet
    from othello_core.analysis.sae.training import load_sae, read_training_info
    sae = load_sae(folder, device=DEVICE)
    return FeatureSet(sae, folder, sae.cfg.metadata.hook_name, int(read_training_info(folder)["recipe"]["stream"]),
                      report={}, top={})


def part_app(app_model: str, sae: Path | None) -> dict:
    """The app's work per position against the bare TransformerLens forward of the same game (one game,
    31 moves, position 30), all through ``ModelService`` as the pages call it: the full analysis (every
    stream, pattern and label), a live edit (flip one square at the middle layer, the clean run being
    the cached analysis), direct logit attribution (heads, MLPs, neurons) and the Features page's SAE
    encoding of the game plus one steered forward."""
    from othello_core.analysis import attribution as A
    from othello_core.analysis.interventions import Edit, apply_edit
    from othello_core.analysis.sae.features import encode, steered_probs
    from othello_core.analysis.service import ModelService
    service = ModelService.load(app_model, device=DEVICE)
    game = random_games(1, seed=3)
    moves = tuple(int(m) for m in game.squares[0][:31])
    position = len(moves) - 1
    tokens = torch.as_tensor(game.tokens[:, :len(moves)])
    time_ms = lambda fn: median_seconds(fn, 30) * 1e3  # noqa: E731
    out = {"app_model": app_model, "tl_forward_b1_ms": time_ms(lambda: service.run(tokens))}
    out["app_analysis_ms"] = time_ms(lambda: service.analyze(moves))
    analysis = service.analyze(moves)
    square = int(analysis.move_probs[position].argmax())
    out["dla_ms"] = time_ms(lambda: A.direct_logit_attribution(service, A.components(service, moves, position), square))
    if service.probes is not None:
        flip = next(s for s in range(64) if analysis.relative[position, s] != 0)
        edit = Edit((flip,), "flip", (service.n_layers // 2,), scale=0.5)
        out["edit_ms"] = time_ms(lambda: apply_edit(service, moves, position, edit,
                                                    clean_probs=analysis.move_probs[position]))
    else:
        out["edit"] = f"skipped: {service.probe_error}"
    features = app_feature_set(sae) if sae is not None and (sae / "cfg.json").exists() else None
    if features is not None and features.sae.cfg.d_in != service.model.cfg.d_model:
        out["features"] = f"skipped: the SAE at {sae} reads d_model {features.sae.cfg.d_in}, not {service.model.cfg.d_model}"
    elif features is not None:
        out["sae_encode_game_ms"] = time_ms(lambda: encode(features, analysis.resid[features.stream]))
        out["sae_steered_forward_ms"] = time_ms(lambda: steered_probs(service, features, moves, position, 0, "ablate"))
    else:
        out["features"] = f"skipped: no SAE at {sae}"
    for name in [k for k in out if k.endswith("_ms") and k != "tl_forward_b1_ms"]:
        out[name.removesuffix("_ms") + "_over_forward"] = out[name] / out["tl_forward_b1_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--json", default=None)
    parser.add_argument("--app-model", default="bundled", help="the model (with its probes) the app parts time")
    parser.add_argument("--sae", default=None, help="an SAE folder for the Features part (default: the app model's)")
    args = parser.parse_args()
    run = Path(args.run_dir)
    sae = Path(args.sae) if args.sae else None
    if sae is None:
        from othello_core.analysis.sae.recipe import sae_folder
        from othello_core.paths import artifact_folder
        sae = sae_folder(artifact_folder(args.app_model))
    figures: dict = {"device": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu",
                     "torch": torch.__version__}
    peak = matmul_peak()
    figures["bf16_matmul_peak_tflops"] = peak / 1e12
    model = None
    parts = [("training", lambda: part_training(run, peak)),
             ("forward", lambda: part_forward(model)),
             ("real games", lambda: part_real_games(model)),
             ("app (TransformerLens)", lambda: part_app(args.app_model, sae))]
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
        if args.json:  # after every part: a call stopped at its deadline keeps what was measured
            Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
