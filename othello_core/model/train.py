"""Train an Othello-GPT on random legal games generated on the fly.

``python -m othello_core train --run-dir runs/x`` trains the paper's shape by default. One
training step sees ``batch_size`` fresh games from the vectorized generator, running in
DataLoader worker processes so the accelerator never waits. AdamW with linear warmup and
cosine decay, gradient clipping, bf16 autocast and optional ``torch.compile`` on GPU,
checkpoint/resume, periodic held-out evaluation, and data-parallel training through
``torchrun`` (DistributedDataParallel). For a fixed slot of accelerator time,
``--max-minutes M --time-schedule`` runs the cosine over the wall-time budget (counted from the
end of the first, compiling step) and ``--final-eval-games`` evaluates the result; ``--init-from``
starts from saved weights with a fresh optimizer.

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
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, IterableDataset
from tqdm import tqdm

from othello_core.model.evaluate import evaluate, heldout_games, legal_tokens
from othello_core.model.gpt import OthelloGPT
from othello_core.model.train_config import CUDA_GRAPH_MODES, TrainConfig  # noqa: F401  (declared there, torch-free)
from othello_core.model.weights import read_config, read_metrics, read_weights, save_model
from othello_core.rules.games import random_games
from othello_core.rules.notation import MODEL_CONTEXT


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
    """Inputs [B, 59] and compact targets: next tokens (long, -100 = none) or legal masks
    ([B, 59, 61] bool, a quarter of the bytes a distribution would move between processes)."""
    games = random_games(batch_size, seed=seed, labels=target == "legal")
    tokens = torch.as_tensor(games.tokens)
    inputs = tokens[:, :MODEL_CONTEXT]
    if target == "next":
        targets = tokens[:, 1:MODEL_CONTEXT + 1].clone()
        targets[targets == 0] = -100
        return inputs, targets
    return inputs, torch.as_tensor(legal_tokens(games))


def target_distribution(legal: torch.Tensor) -> torch.Tensor:
    """Uniform distribution over each position's legal moves (all zeros once the game is over)."""
    legal = legal.float()
    return legal / legal.sum(-1, keepdim=True).clamp(min=1)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    if targets.dtype == torch.long:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=-100)
    valid = targets.any(-1).float()  # positions after the game's end have no legal move
    nll = -(target_distribution(targets) * torch.log_softmax(logits, -1)).sum(-1)
    # the mean over valid positions as a masked sum: boolean indexing (nll[valid]) would wait for the
    # GPU every step to learn how many rows it keeps
    return (nll * valid).sum() / valid.sum().clamp(min=1)


def lr_at(step: int, cfg: TrainConfig, time_fraction: float | None = None) -> float:
    """Linear warmup, then cosine to ``min_lr_ratio * lr`` over the steps or, when
    ``time_fraction`` is given (time schedule), over the fraction of the time budget used."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    if time_fraction is not None:
        progress = min(1.0, max(progress, time_fraction))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class Runtime:
    """Where this process trains: its device, and its rank when ``torchrun`` started several."""
    device: str
    rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main_process(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


@dataclass
class Progress:
    """The counters a run carries: ``step`` is this run's (it drives the schedule); ``steps_before``,
    the games and the time count on from the weights it started from."""
    step: int = 0
    games_seen: int = 0
    elapsed_before: float = 0.0
    steps_before: int = 0
    earlier: dict = field(default_factory=dict)  # the earlier run's totals ({} for a fresh run)


def start_runtime(cfg: TrainConfig) -> Runtime:
    """Pick the device, join the process group under ``torchrun``, seed torch."""
    runtime = Runtime(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"),
                      rank=int(os.environ.get("RANK", "0")), world_size=int(os.environ.get("WORLD_SIZE", "1")))
    if runtime.distributed:
        import torch.distributed as dist  # only under torchrun
        dist.init_process_group("nccl" if runtime.device == "cuda" else "gloo")
        if runtime.device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            runtime.device = f"cuda:{local}"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    return runtime


def make_optimizer(model: OthelloGPT, cfg: TrainConfig, runtime: Runtime) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.95), fused=runtime.cuda)


def restore(model: OthelloGPT, optimizer, cfg: TrainConfig, run_dir: Path, resume: bool,
            runtime: Runtime) -> Progress:
    """Load what the run starts from: its own checkpoint (``--resume``), earlier weights
    (``--init-from``, fresh optimizer, the curve goes on from theirs) or nothing."""
    ckpt_path = run_dir / "checkpoint.pt"
    resuming = resume and ckpt_path.exists()
    # Weights from an earlier run carry its totals: steps, games and time count on from them.
    earlier = read_config(run_dir).get("earlier_training", {}) if resuming else inherited_training(cfg.init_from)
    progress = Progress(steps_before=int(earlier.get("steps", 0)), earlier=earlier)
    if cfg.init_from and not resuming:
        model.load_state_dict({k: v.float() for k, v in read_weights(cfg.init_from).items()})
        progress.games_seen = int(earlier.get("games_seen", 0))
        progress.elapsed_before = float(earlier.get("wall_time_s", 0.0))
        if runtime.main_process:  # the training curve goes on from the earlier run's
            (run_dir / "metrics.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in inherited_metrics(cfg.init_from)))
    if resuming:
        ckpt = torch.load(ckpt_path, map_location=runtime.device, weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        progress.step, progress.games_seen = int(ckpt["step"]), int(ckpt["games_seen"])
        progress.elapsed_before = float(ckpt["elapsed_s"])
    if runtime.main_process:
        history = (command_history(run_dir) if resuming
                   else command_history(Path(cfg.init_from)) if earlier else [])
        (run_dir / "config.json").write_text(json.dumps(
            asdict(cfg) | {"shape": asdict(cfg.shape()), "command_history": history + [cfg.command]}
            | ({"earlier_training": earlier} if earlier else {}), indent=2))
    return progress


def wrap_for_training(model: OthelloGPT, cfg: TrainConfig, runtime: Runtime, compile: bool | None = None):
    """The module the steps run: compiled on GPU when asked, inside DDP under ``torchrun``."""
    trained = model
    if (cfg.compile if compile is None else compile) and runtime.cuda:
        trained = torch.compile(model, mode=None if cfg.compile_mode == "default" else cfg.compile_mode)
    if runtime.distributed:
        trained = DistributedDataParallel(trained, device_ids=[runtime.device] if runtime.cuda else None)
    return trained


def game_batches(cfg: TrainConfig, runtime: Runtime, progress: Progress):
    """Endless (inputs, targets) batches from worker processes, each (seed, rank, worker) its own games."""
    # seeded by the lineage's step count, so that a run from earlier weights sees new games
    stream = GameStream(cfg.batch_size, cfg.target, seed=cfg.seed * 1000 + progress.steps_before + progress.step,
                        rank=runtime.rank)
    loader = DataLoader(stream, batch_size=None, num_workers=cfg.workers, pin_memory=runtime.cuda,
                        prefetch_factor=4 if cfg.workers else None, persistent_workers=cfg.workers > 0)
    return iter(loader)


def optimizer_step(model: OthelloGPT, trained, optimizer, inputs: torch.Tensor, targets: torch.Tensor,
                   lr: float, cfg: TrainConfig, autocast) -> torch.Tensor:
    """One step of AdamW at learning rate ``lr`` with clipped gradients; the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    if cfg.compile and cfg.compile_mode in CUDA_GRAPH_MODES:
        torch.compiler.cudagraph_mark_step_begin()  # the previous step's graph outputs may be overwritten
    with autocast:
        logits = trained(inputs)
    loss = loss_fn(logits, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    return loss


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train, evaluating on held-out games every ``eval_every`` steps and checkpointing every
    ``save_every``; stop at ``steps`` or when the time budget is spent; export the weights."""
    runtime = start_runtime(cfg)
    run_dir = Path(cfg.run_dir)
    if runtime.main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    model = OthelloGPT(cfg.shape()).to(runtime.device)
    optimizer = make_optimizer(model, cfg, runtime)
    state = restore(model, optimizer, cfg, run_dir, resume, runtime)
    trained = wrap_for_training(model, cfg, runtime)
    batches = game_batches(cfg, runtime, state)
    heldout = heldout_games(cfg.eval_games) if runtime.main_process else None
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and runtime.cuda)

    bar = tqdm(total=cfg.steps, initial=state.step, disable=not (progress and runtime.main_process),
               desc="train", unit="step", dynamic_ncols=True)
    start = time.time()
    budget_s = cfg.max_minutes * 60 if cfg.max_minutes is not None else None
    budget_start = None  # the budget clock starts after the first step (compilation excluded)
    metrics_file = open(run_dir / "metrics.jsonl", "a") if runtime.main_process else None
    while state.step < cfg.steps:
        inputs, targets = next(batches)
        inputs = inputs.to(runtime.device, non_blocking=True)
        targets = targets.to(runtime.device, non_blocking=True)
        used = None
        if cfg.time_schedule and budget_s and budget_start is not None:
            used = (time.time() - budget_start) / budget_s
        lr = lr_at(state.step, cfg, used)
        try:
            loss = optimizer_step(model, trained, optimizer, inputs, targets, lr, cfg, autocast)
        except Exception as err:  # torch.compile failing on this machine: go on eagerly
            if not cfg.compile or budget_start is not None:  # only the first step compiles
                raise
            print(f"torch.compile failed ({type(err).__name__}: {err}); training eagerly", file=sys.stderr)
            trained = wrap_for_training(model, cfg, runtime, compile=False)
            loss = optimizer_step(model, trained, optimizer, inputs, targets, lr, cfg, autocast)
        state.step += 1
        state.games_seen += cfg.batch_size * runtime.world_size
        bar.update(1)
        if state.step % 20 == 0 and not bar.disable:  # loss.item() waits for the GPU: only for a visible bar
            bar.set_postfix(loss=f"{loss.item():.3f}", games=state.games_seen)
        if budget_start is None:
            budget_start = window_start = time.time()
            window_games = state.games_seen
        elapsed = state.elapsed_before + time.time() - start
        out_of_time = budget_s is not None and (time.time() - budget_start) > budget_s
        last = state.step == cfg.steps or out_of_time
        if runtime.main_process and (state.step % cfg.eval_every == 0 or last):
            window = {"games_per_s": round((state.games_seen - window_games) / (time.time() - window_start))}
            record = {"step": state.steps_before + state.step, "games_seen": state.games_seen,
                      "elapsed_s": round(elapsed, 1), "loss": loss.item(), "lr": lr} | window \
                | evaluate(lambda t: model(t), heldout, device=runtime.device)
            write_record(metrics_file, record, bar)
            window_start, window_games = time.time(), state.games_seen  # the next window excludes this eval
        if runtime.main_process and (state.step % cfg.save_every == 0 or last):
            save_training_checkpoint(model, optimizer, state.step, state.games_seen, elapsed, run_dir / "checkpoint.pt")
        if out_of_time:
            break
    bar.close()
    if runtime.main_process:
        finish(model, cfg, run_dir, state, state.elapsed_before + time.time() - start, metrics_file, bar, runtime)
    if runtime.distributed:
        torch.distributed.destroy_process_group()
    return run_dir


def write_record(metrics_file, record: dict, bar) -> None:
    metrics_file.write(json.dumps(record) + "\n")
    metrics_file.flush()
    bar.write(json.dumps(record))


def finish(model: OthelloGPT, cfg: TrainConfig, run_dir: Path, state: Progress, elapsed: float, metrics_file,
           bar, runtime: Runtime) -> None:
    """The final evaluation (``final_eval_games``, counted by move) and the exported weights."""
    final = None
    if cfg.final_eval_games:
        final = evaluate(lambda t: model(t), heldout_games(cfg.final_eval_games), device=runtime.device,
                         by_move=True)
        write_record(metrics_file, {"step": state.steps_before + state.step, "games_seen": state.games_seen,
                                    "elapsed_s": round(elapsed, 1), "final": True} | final, bar)
    metrics_file.close()
    export(model, run_dir, cfg, state.steps_before + state.step, state.games_seen, elapsed, final_eval=final,
           earlier=state.earlier)


def inherited_training(init_from: str | None) -> dict:
    """What the weights a run starts from (``--init-from``) had been through, from their folder's
    config.json: the steps, games and wall time the new run counts on from, the hardware and the
    weights hash. {} for a bare weights file or a folder with no training facts."""
    if not init_from or not Path(init_from).is_dir():
        return {}
    config = read_config(init_from)
    done = config.get("training")
    if not done:
        return {}
    return {"from": str(init_from), "weights_hash": config.get("weights_hash"),
            "steps": done.get("steps", 0), "games_seen": done.get("games_seen", 0),
            "wall_time_s": done.get("wall_time_s", 0.0), "hardware": done.get("hardware")}


def inherited_metrics(init_from: str | None) -> list[dict]:
    """The held-out evaluations logged while the ``--init-from`` weights trained (a run folder's
    metrics.jsonl, or the training_metrics.jsonl a bundled model keeps); [] if there are none."""
    if not init_from or not Path(init_from).is_dir():
        return []
    for name in ("metrics.jsonl", "training_metrics.jsonl"):
        if (Path(init_from) / name).exists():
            return read_metrics(Path(init_from) / name)
    return []


def command_history(run_dir: Path) -> list[str]:
    """The commands that trained this run folder so far (a resumed run appends its own)."""
    old = read_config(run_dir)
    return old.get("command_history") or ([old["command"]] if "command" in old else [])


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
           elapsed_s: float, shard_mb: float | None = None, final_eval: dict | None = None,
           earlier: dict | None = None) -> None:
    """Write the fp16 weights (HookedTransformer keys, optionally sharded) and training facts.

    ``step``, ``games_seen`` and ``elapsed_s`` are totals over the lineage; ``earlier`` (see
    ``inherited_training``) names the hardware the earlier runs used."""
    hardware = torch.cuda.get_device_name() if torch.cuda.is_available() else cpu_name(cfg.threads)
    if earlier and earlier.get("hardware") and not earlier["hardware"].endswith(hardware):
        hardware = f"{earlier['hardware']}, then {hardware}"
    training = {"steps": step, "games_seen": games_seen, "wall_time_s": round(elapsed_s, 1),
                "hardware": hardware, "seed": cfg.seed, "target": cfg.target,
                "batch_size": cfg.batch_size, "lr": cfg.lr, "command": cfg.command}
    if final_eval is None:  # exporting a stopped run: keep the final evaluation of these weights
        final_eval = last_final_eval(run_dir, step)
    if final_eval is not None:
        training["final_eval"] = final_eval
    save_model(model, run_dir, extra_config={"training": training}, shard_mb=shard_mb)


def last_final_eval(run_dir: Path, step: int) -> dict | None:
    finals = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("final") and r["step"] == step]
    return {k: v for k, v in finals[-1].items() if k not in ("step", "final")} if finals else None


def export_checkpoint(run_dir: Path | str, shard_mb: float | None = None) -> Path:
    """Write the weights from a run folder's checkpoint.pt (e.g. after stopping a run)."""
    run_dir = Path(run_dir)
    raw = json.loads((run_dir / "config.json").read_text())
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in raw.items() if k in names})
    ckpt = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    model = OthelloGPT(cfg.shape())
    model.load_state_dict(ckpt["model"])
    earlier = raw.get("earlier_training", {})
    export(model, run_dir, cfg, int(earlier.get("steps", 0)) + int(ckpt["step"]), int(ckpt["games_seen"]),
           float(ckpt["elapsed_s"]), shard_mb=shard_mb, earlier=earlier)
    return run_dir
