"""The model commands of ``python -m othello_core``: train, eval (torch imported lazily)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default="runs/othello-gpt")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true")
    for name, default, kind in _TRAIN_FLAGS:
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            p.add_argument(flag, type=kind, default=default)


_TRAIN_FLAGS = [
    ("n_layers", 8, int), ("d_model", 512, int), ("n_heads", 8, int), ("d_mlp", None, int),
    ("batch_size", 256, int), ("steps", 20_000, int), ("lr", 1e-3, float),
    ("min_lr_ratio", 0.1, float), ("warmup_steps", 500, int), ("weight_decay", 0.01, float),
    ("grad_clip", 1.0, float), ("target", "next", str), ("seed", 0, int), ("workers", 2, int),
    ("device", None, str), ("bf16", True, bool), ("compile", False, bool), ("threads", None, int),
    ("eval_every", 1000, int), ("eval_games", 1000, int), ("save_every", 1000, int),
    ("max_minutes", None, float),
]


def cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names and k != "command"})
    cfg.command = "python -m othello_core " + " ".join(sys.argv[1:])
    run_dir = train(cfg, resume=args.resume, progress=not args.no_progress)
    print(f"wrote {run_dir}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from .evaluate import evaluate, heldout_games, real_games
    from .model import ModelLoadError, load_model
    try:
        model = load_model(args.model, device=args.device)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = str(next(model.parameters()).device)
    batch = real_games(args.games) if args.real else heldout_games(args.games)
    with torch.inference_mode():
        result = evaluate(model, batch, device=device)
    result |= {"model": args.model, "data": "eothello" if args.real else "synthetic-heldout"}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")
    return 0


def add_commands(sub) -> None:
    """Register the model commands; nothing here imports torch until a command runs."""
    p = sub.add_parser("train", help="train an Othello-GPT on random legal games")
    _train_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="legal-move accuracy of a model on held-out games")
    p.add_argument("--model", default="bundled",
                   help="bundled | synthetic | championship | path to a checkpoint or run folder")
    p.add_argument("--games", type=int, default=2000)
    p.add_argument("--real", action="store_true", help="evaluate on the eOthello games")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)
