"""Train one transcoder per MLP with a small torch loop, resumable layer by layer.

1. ``collect_mlp_io``: one pass of the model over fresh synthetic games keeps every block's MLP input
   (``ln2.hook_normalized``) and output (``hook_mlp_out``) at every real position, as float16 files on disk
   (``acts/in_L.npy``, ``acts/out_L.npy``); a finished collection is recorded and reused.
2. ``train_layer``: BatchTopK with AuxK for dead features, unit-norm decoder rows, Adam with warm-up and
   cosine decay, on inputs and targets scaled to mean norm ``sqrt(d_model)`` (folded back at the end);
   the inference threshold is the smallest activation BatchTopK keeps, measured on the final weights.
3. ``train_set``: every block not already trained, each saved as circuit-tracer's ``layer_L.safetensors``
   with ``layer_L.json`` (recipe, validation metrics, tokens/s) beside it.

SAELens 6.54 has transcoder classes for inference only, and its trainer cannot fit one (``TrainStepInput``
carries ``sae_in`` alone: the input is the target), hence this loop, which writes circuit-tracer's own format.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.transcoders.recipe import TranscoderRecipe, layer_file
from othello_core.analysis.transcoders.transcoder import Transcoder, save_transcoder
from othello_core.rules.games import GameBatch, random_games
from othello_core.rules.notation import MODEL_CONTEXT

Progress = Callable  # tqdm-like
COLLECTED = "collected.json"
VALIDATION_FRACTION = 0.05  # the last games' positions: per-layer validation during training


def _acts_path(folder: Path, kind: str, block: int) -> Path:
    return folder / f"{kind}_{block}.npy"


@torch.no_grad()
def collect_mlp_io(model, batch: GameBatch, folder: Path | str, digest: str, progress: Progress | None = None,
                   batch_games: int = 128) -> Path:
    """Every block's MLP input and output at every real position of ``batch``, as ``[tokens, d_model]``
    float16 ``.npy`` files in ``folder`` (reused when ``collected.json`` says they are this model's)."""
    folder = Path(folder)
    record = {"model_hash": digest, "games": len(batch), "first_game": batch.squares[0, :8].tolist()}
    done = folder / COLLECTED
    if done.exists() and json.loads(done.read_text()) == record:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    pick = real_positions(batch)  # [rows, 2] (game, position)
    n_layers, d = model.cfg.n_layers, model.cfg.d_model
    names = [f(b) for b in range(n_layers) for f in (TranscoderRecipe.input_hook, TranscoderRecipe.output_hook)]
    files = {name: np.lib.format.open_memmap(_acts_path(folder, "in" if name.endswith("normalized") else "out",
                                                        int(name.split(".")[1])),
                                             mode="w+", dtype=np.float16, shape=(len(pick), d)) for name in names}
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    device = next(model.parameters()).device
    row = 0
    starts = range(0, len(tokens), batch_games)
    for start in (progress(starts, desc="MLP inputs and outputs, every layer", total=len(starts)) if progress else starts):
        _, cache = model.run_with_cache(tokens[start:start + batch_games].to(device), names_filter=names)
        sel = pick[(pick[:, 0] >= start) & (pick[:, 0] < start + batch_games)]
        for name, out in files.items():
            out[row:row + len(sel)] = cache[name][sel[:, 0] - start, sel[:, 1]].cpu().numpy().astype(np.float16)
        row += len(sel)
    for out in files.values():
        out.flush()
    done.write_text(json.dumps(record))
    return folder


def load_layer_io(folder: Path | str, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` of one block from a collection, float16 ``[tokens, d_model]`` in memory."""
    folder = Path(folder)
    return (torch.from_numpy(np.load(_acts_path(folder, "in", block))),
            torch.from_numpy(np.load(_acts_path(folder, "out", block))))


def validation_inputs(folder: Path | str) -> dict[int, torch.Tensor]:
    """Per block, the MLP inputs of the collection's held-out slice (the rows ``train_layer`` never fits)."""
    folder = Path(folder)
    blocks = sorted(int(p.stem.split("_")[1]) for p in folder.glob("in_*.npy"))
    out = {}
    for block in blocks:
        x = np.load(_acts_path(folder, "in", block), mmap_mode="r")
        out[block] = torch.from_numpy(np.array(x[len(x) - max(1, int(len(x) * VALIDATION_FRACTION)):]))
    return out


def _mean_norm_scale(x: torch.Tensor, rows: int = 50_000) -> float:
    sample = x[:rows].float()
    return float(sample.shape[1] ** 0.5 / sample.norm(dim=-1).mean())


def batch_topk(pre: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the ``k * batch`` largest positive pre-activations of the batch; ``(acts, smallest kept)``.

    >>> acts, smallest = batch_topk(torch.tensor([[3.0, -1.0, 0.5], [2.0, 1.0, 0.2]]), k=1)
    >>> acts.tolist(), float(smallest)
    ([[3.0, 0.0, 0.0], [2.0, 0.0, 0.0]], 2.0)
    """
    flat = pre.relu().flatten()
    values, index = flat.topk(min(k * pre.shape[0], flat.numel()))
    keep = values > 0
    acts = torch.zeros_like(flat).scatter(0, index[keep], values[keep]).view_as(pre)
    smallest = values[keep].min().detach() if keep.any() else pre.new_tensor(0.0)
    return acts, smallest


def explained_variance(target: torch.Tensor, recon: torch.Tensor) -> float:
    """``1 - SSE / total variance`` over every coordinate (the whole MLP output vector)."""
    target, recon = target.float(), recon.float()
    return float(1 - ((target - recon) ** 2).sum() / ((target - target.mean(0)) ** 2).sum())


class _Trainer:
    """The training parameters of one layer, in scaled units."""

    def __init__(self, d: int, n_features: int, recipe: TranscoderRecipe, y_mean: torch.Tensor, gen: torch.Generator,
                 device: str = "cpu"):
        W_dec = torch.randn(n_features, d, generator=gen).to(device)  # noqa: N806
        W_dec /= W_dec.norm(dim=-1, keepdim=True)  # noqa: N806
        self.W_enc = W_dec.clone().requires_grad_()
        self.b_enc = torch.zeros(n_features, device=device, requires_grad=True)
        self.W_dec = W_dec.requires_grad_()
        self.b_dec = y_mean.to(device).clone().requires_grad_()
        self.W_skip = torch.zeros(d, d, device=device, requires_grad=True) if recipe.skip else None
        self.recipe = recipe
        self.threshold = 0.0  # set by calibrate_threshold once trained
        self.last_fired = torch.zeros(n_features, dtype=torch.long, device=device)  # tokens seen at each one's last firing

    def params(self) -> list[torch.Tensor]:
        return [p for p in (self.W_enc, self.b_enc, self.W_dec, self.b_dec, self.W_skip) if p is not None]

    def step_loss(self, x: torch.Tensor, y: torch.Tensor, tokens_seen: int) -> tuple[torch.Tensor, torch.Tensor]:
        pre = x @ self.W_enc.T + self.b_enc
        acts, _ = batch_topk(pre, self.recipe.k)
        recon = acts @ self.W_dec + self.b_dec
        if self.W_skip is not None:
            recon = recon + x @ self.W_skip.T
        err = y - recon
        loss = (err ** 2).sum(-1).mean()
        fired = (acts > 0).any(0)
        self.last_fired[fired] = tokens_seen
        dead = (tokens_seen - self.last_fired) > self.recipe.dead_after_tokens
        if dead.any():  # AuxK: the dead features' top pre-activations reconstruct what is left
            dead_pre = pre.relu() * dead
            values, index = dead_pre.topk(min(self.recipe.aux_k, int(dead.sum())), dim=-1)
            aux_recon = torch.zeros_like(pre).scatter(-1, index, values) @ self.W_dec
            residual = err.detach()
            aux = ((residual - aux_recon) ** 2).sum(-1).mean() / (residual ** 2).sum(-1).mean().clamp_min(1e-9)
            loss = loss + self.recipe.aux_coefficient * torch.nan_to_num(aux)
        return loss, (err.detach() ** 2).sum()  # the batch's squared error (a tensor: no host sync here)

    @torch.no_grad()
    def calibrate_threshold(self, x: torch.Tensor, batches: int = 20) -> float:
        """The JumpReLU threshold: the mean over ``batches`` training batches of the smallest activation
        BatchTopK keeps (measured on the final weights; a running mean during training lags behind them)."""
        size = self.recipe.batch_size
        kept = [float(batch_topk(x[i * size:(i + 1) * size] @ self.W_enc.T + self.b_enc, self.recipe.k)[1])
                for i in range(min(batches, len(x) // size))]
        self.threshold = float(np.mean(kept))
        return self.threshold

    @torch.no_grad()
    def renorm_decoder(self) -> None:
        self.W_dec /= self.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8)

    def to_transcoder(self, sx: float, sy: float, block: int) -> Transcoder:
        """Fold the scales back: the transcoder reads and writes the model's own units (on the CPU)."""
        with torch.no_grad():
            skip = None if self.W_skip is None else (self.W_skip * sx / sy).cpu()
            return Transcoder((self.W_enc * sx).cpu(), self.b_enc.cpu(), (self.W_dec / sy).cpu(), (self.b_dec / sy).cpu(),
                              torch.full_like(self.b_enc, self.threshold).cpu(), skip, block)


@torch.no_grad()
def layer_metrics(transcoder: Transcoder, x: torch.Tensor, y: torch.Tensor, chunk: int = 8192) -> dict:
    """Explained variance of the MLP output, L0, and features that never fire on ``x``."""
    recon, l0, fired = [], 0.0, torch.zeros(transcoder.d_transcoder, dtype=torch.bool)
    for start in range(0, len(x), chunk):
        xs = x[start:start + chunk].float()
        feats = transcoder.encode(xs)
        recon.append(transcoder.decode(feats, xs))
        l0 += float((feats > 0).sum())
        fired |= (feats > 0).any(0)
    return {"explained_variance": explained_variance(y, torch.cat(recon)), "l0": l0 / len(x),
            "dead_features": int((~fired).sum()), "tokens": len(x)}


def train_layer(x: torch.Tensor, y: torch.Tensor, recipe: TranscoderRecipe, block: int,
                progress: Progress | None = None, device: str = "cpu") -> tuple[Transcoder, dict]:
    """Fit one block's transcoder on ``x -> y`` (float16 ``[tokens, d_model]``, kept on the CPU; batches go to
    ``device``); the last ``VALIDATION_FRACTION`` of the rows are held out and measured."""
    gen = torch.Generator().manual_seed(recipe.seed + block)
    n_val = max(1, int(len(x) * VALIDATION_FRACTION))
    x_fit, y_fit = x[:-n_val], y[:-n_val]
    sx, sy = _mean_norm_scale(x_fit), _mean_norm_scale(y_fit)
    d = x.shape[1]
    trainer = _Trainer(d, recipe.d_transcoder(d), recipe, y_fit[:100_000].float().mean(0) * sy, gen, device)
    optimizer = torch.optim.Adam(trainer.params(), lr=recipe.lr, betas=(0.9, 0.999))
    steps_per_epoch = len(x_fit) // recipe.batch_size
    total = steps_per_epoch * recipe.epochs
    warmup = max(1, int(total * recipe.warmup_fraction))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / total))))
    bar = progress(range(total), desc=f"transcoder of block {block}", total=total) if progress else range(total)
    start_time = time.perf_counter()
    order = torch.randperm(len(x_fit), generator=gen)
    sse_sum, var_sum = 0.0, 0.0
    for step in bar:
        epoch_step = step % steps_per_epoch
        if step and epoch_step == 0:
            order = torch.randperm(len(x_fit), generator=gen)
        rows = order[epoch_step * recipe.batch_size:(epoch_step + 1) * recipe.batch_size]
        xb, yb = x_fit[rows].to(device).float() * sx, y_fit[rows].to(device).float() * sy
        loss, sse = trainer.step_loss(xb, yb, (step + 1) * recipe.batch_size)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        trainer.renorm_decoder()
        if progress:  # the bar's running explained variance (a host sync per step: only when shown)
            sse_sum = 0.98 * sse_sum + float(sse)
            var_sum = 0.98 * var_sum + float(((yb - yb.mean(0)) ** 2).sum())
        if progress and step % 20 == 0:
            bar.set_postfix(ev=f"{1 - sse_sum / var_sum:.3f}")
    trainer.calibrate_threshold(x_fit[order[:20 * recipe.batch_size]].to(device).float() * sx)
    train_s = time.perf_counter() - start_time
    transcoder = trainer.to_transcoder(sx, sy, block)
    info = {"block": block, "input_hook": recipe.input_hook(block), "output_hook": recipe.output_hook(block),
            "recipe": recipe.as_dict(), "tokens": len(x_fit), "training_samples": total * recipe.batch_size,
            "train_s": round(train_s, 1), "train_tokens_per_s": round(total * recipe.batch_size / train_s, 1),
            "torch_threads": torch.get_num_threads(), "device": device,
            "validation": layer_metrics(transcoder, x[-n_val:], y[-n_val:])}
    return transcoder, info


def training_games(recipe: TranscoderRecipe) -> GameBatch:
    return random_games(recipe.games, seed=recipe.seed)


def train_set(model, recipe: TranscoderRecipe, folder: Path | str, acts_folder: Path | str, model_name: str,
              digest: str, blocks: list[int] | None = None, progress: Progress | None = None,
              log: Callable[[str], None] = print) -> list[dict]:
    """Train every block in ``blocks`` (all by default) that ``folder`` does not already hold for this model
    and recipe; returns each trained layer's record."""
    folder = Path(folder)
    blocks = list(range(model.cfg.n_layers)) if blocks is None else blocks
    todo = [b for b in blocks if not _is_trained(folder, b, recipe, digest)]
    if not todo:
        log(f"every requested block already trained in {folder}")
        return []
    start = time.perf_counter()
    collect_mlp_io(model, training_games(recipe), acts_folder, digest, progress, recipe.collect_batch)
    log(f"activations ready in {time.perf_counter() - start:.0f} s ({acts_folder})")
    records = []
    for block in todo:
        x, y = load_layer_io(acts_folder, block)
        transcoder, info = train_layer(x, y, recipe, block, progress, str(next(model.parameters()).device))
        info.update(model=model_name, model_hash=digest)
        save_transcoder(transcoder, layer_file(folder, block))
        layer_file(folder, block).with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
        v = info["validation"]
        log(f"block {block}: explained variance {v['explained_variance']:.3f}, L0 {v['l0']:.1f}, "
            f"dead {v['dead_features']}, {info['train_tokens_per_s']:,.0f} tokens/s, {info['train_s'] / 60:.1f} min")
        records.append(info)
    return records


def _is_trained(folder: Path, block: int, recipe: TranscoderRecipe, digest: str) -> bool:
    meta = layer_file(folder, block).with_suffix(".json")
    if not (meta.exists() and layer_file(folder, block).exists()):
        return False
    info = json.loads(meta.read_text())
    return info.get("model_hash") == digest and info.get("recipe") == recipe.as_dict()
