"""Train an Othello-GPT on random legal games generated on the fly.

``python -m othello_core train --run-dir runs/x`` trains the paper's shape by default. One
training step sees ``batch_size`` fresh games from the vectorized generator, running in
DataLoader worker processes so the accelerator never waits. AdamW with linear warmup and
cosine decay, gradient clipping, bf16 autocast and optional ``torch.compile`` on GPU,
checkpoint/resume, periodic held-out evaluation, and data-parallel training through
``torchrun`` (DistributedDataParallel).

Targets: ``next`` is the paper's next-token loss; ``legal`` is cross-entropy against the
uniform distribution over the legal next moves (the optimum of the next-token loss under
uniform random play, with less gradient noise). The model card records which.

The run folder holds ``config.json``, ``metrics.jsonl``, ``checkpoint.pt`` (weights +
optimizer, for ``--resume``), ``model.safetensors`` (HookedTransformer keys) and
``model_card.md``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

from .evaluate import evaluate, heldout_games, legal_tokens
from .games import random_games
from .gpt import OthelloGPT
from .weights import ModelShape
from .notation import MODEL_CONTEXT


@dataclass
class TrainConfig:
    n_layers: int = 8
    d_model: int = 512
    n_heads: int = 8
    d_mlp: int | None = None  # default 4 * d_model
    batch_size: int = 256
    steps: int = 20_000
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 500
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    target: str = "next"  # "next" or "legal"
    seed: int = 0
    workers: int = 2
    device: str | None = None
    bf16: bool = True  # autocast on CUDA only
    compile: bool = False
    threads: int | None = None
    eval_every: int = 1000
    eval_games: int = 1000
    save_every: int = 1000
    max_minutes: float | None = None  # stop (and save) after this wall time
    run_dir: str = "runs/othello-gpt"
    command: str = field(default_factory=lambda: " ".join(sys.argv))

    def shape(self) -> ModelShape:
        return ModelShape(n_layers=self.n_layers, d_model=self.d_model, n_heads=self.n_heads,
                          d_mlp=self.d_mlp or 4 * self.d_model)


class GameStream(IterableDataset):
    """Endless batches of random games: (tokens [B, 59], targets).

    Each (seed, rank, worker) gets its own numpy SeedSequence stream; the held-out games
    use a seed outside that family (``evaluate.EVAL_SEED``).
    """

    def __init__(self, batch_size: int, target: str, seed: int, rank: int = 0):
        self.batch_size, self.target, self.seed, self.rank = batch_size, target, seed, rank

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info else 0
        seeds = np.random.SeedSequence([self.seed, self.rank, worker])
        while True:
            (child,) = seeds.spawn(1)
            game_seed = int(child.generate_state(1)[0])
            yield make_batch(self.batch_size, game_seed, self.target)


def make_batch(batch_size: int, seed: int, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    games = random_games(batch_size, seed=seed, labels=target == "legal")
    tokens = torch.as_tensor(games.tokens)
    inputs = tokens[:, :MODEL_CONTEXT]
    if target == "next":
        targets = tokens[:, 1:MODEL_CONTEXT + 1].clone()
        targets[targets == 0] = -100
        return inputs, targets
    legal = torch.as_tensor(legal_tokens(games), dtype=torch.float32)
    return inputs, legal / legal.sum(-1, keepdim=True).clamp(min=1)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    if targets.dtype == torch.long:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=-100)
    valid = targets.sum(-1) > 0
    nll = -(targets * torch.log_softmax(logits, -1)).sum(-1)
    return nll[valid].mean()


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> Path:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if distributed:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    main_process = rank == 0
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)

    model = OthelloGPT(cfg.shape()).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.95), fused=device.startswith("cuda"))
    step, games_seen, elapsed_before = 0, 0, 0.0
    ckpt_path = run_dir / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step, games_seen = int(ckpt["step"]), int(ckpt["games_seen"])
        elapsed_before = float(ckpt["elapsed_s"])
    if main_process:
        (run_dir / "config.json").write_text(json.dumps(asdict(cfg) | {"shape": asdict(cfg.shape())}, indent=2))

    trained = model
    if cfg.compile and device.startswith("cuda"):
        trained = torch.compile(model)
    if distributed:
        trained = DistributedDataParallel(trained, device_ids=[device] if device.startswith("cuda") else None)

    stream = GameStream(cfg.batch_size, cfg.target, seed=cfg.seed * 1000 + step, rank=rank)
    loader = DataLoader(stream, batch_size=None, num_workers=cfg.workers,
                        pin_memory=device.startswith("cuda"),
                        prefetch_factor=4 if cfg.workers else None, persistent_workers=cfg.workers > 0)
    heldout = heldout_games(cfg.eval_games) if main_process else None
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and device.startswith("cuda"))

    from tqdm import tqdm
    bar = tqdm(total=cfg.steps, initial=step, disable=not (progress and main_process),
               desc="train", unit="step", dynamic_ncols=True)
    start = time.time()
    metrics_file = open(run_dir / "metrics.jsonl", "a") if main_process else None
    batches = iter(loader)
    loss_value = float("nan")
    while step < cfg.steps:
        inputs, targets = next(batches)
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        model.train()
        with autocast:
            logits = trained(inputs)
        loss = loss_fn(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        games_seen += cfg.batch_size * (int(os.environ.get("WORLD_SIZE", "1")))
        bar.update(1)
        if step % 20 == 0:
            loss_value = loss.item()
            bar.set_postfix(loss=f"{loss_value:.3f}", games=games_seen)
        elapsed = elapsed_before + time.time() - start
        out_of_time = cfg.max_minutes is not None and (time.time() - start) > cfg.max_minutes * 60
        if main_process and (step % cfg.eval_every == 0 or step == cfg.steps or out_of_time):
            result = evaluate(lambda t: model(t), heldout, device=device)
            record = {"step": step, "games_seen": games_seen, "elapsed_s": round(elapsed, 1),
                      "loss": loss.item(), "lr": lr_at(step, cfg)} | result
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
            bar.write(json.dumps(record))
        if main_process and (step % cfg.save_every == 0 or step == cfg.steps or out_of_time):
            save_training_checkpoint(model, optimizer, step, games_seen, elapsed, ckpt_path)
        if out_of_time:
            break
    bar.close()
    if main_process:
        metrics_file.close()
        export(model, run_dir, cfg, step, games_seen, elapsed_before + time.time() - start)
    if distributed:
        torch.distributed.destroy_process_group()
    return run_dir


def save_training_checkpoint(model, optimizer, step, games_seen, elapsed, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "games_seen": games_seen, "elapsed_s": elapsed}, tmp)
    tmp.replace(path)


def cpu_name(threads: int | None = None) -> str:
    """The CPU model and the torch thread count, for the model card."""
    name = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {threads or torch.get_num_threads()} torch thread(s)"


def export(model: OthelloGPT, run_dir: Path, cfg: TrainConfig, step: int, games_seen: int,
           elapsed_s: float, shard_mb: float | None = None) -> None:
    """Write the fp16 weights (HookedTransformer keys, optionally sharded) and training facts."""
    from .weights import save_model
    hardware = torch.cuda.get_device_name() if torch.cuda.is_available() else cpu_name(cfg.threads)
    save_model(model, run_dir, extra_config={
        "training": {"steps": step, "games_seen": games_seen, "wall_time_s": round(elapsed_s, 1),
                     "hardware": hardware, "seed": cfg.seed, "target": cfg.target,
                     "batch_size": cfg.batch_size, "lr": cfg.lr, "command": cfg.command}},
               shard_mb=shard_mb)


def export_checkpoint(run_dir: Path | str, shard_mb: float | None = None) -> Path:
    """Write the weights from a run folder's checkpoint.pt (e.g. after stopping a run)."""
    run_dir = Path(run_dir)
    raw = json.loads((run_dir / "config.json").read_text())
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in raw.items() if k in names})
    ckpt = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    model = OthelloGPT(cfg.shape())
    model.load_state_dict(ckpt["model"])
    export(model, run_dir, cfg, int(ckpt["step"]), int(ckpt["games_seen"]), float(ckpt["elapsed_s"]),
           shard_mb=shard_mb)
    return run_dir
