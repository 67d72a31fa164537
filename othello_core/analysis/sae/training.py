"""Train an SAE on one residual stream with SAELens's own trainer, and save it in SAELens's format.

1. ``collect_stream``: run the model over fresh synthetic games and keep the stream's vector at
   every real move position (positions after a game's end -- padding -- are never kept);
2. ``shuffled_batches``: an endless provider of shuffled minibatches over those tokens (one
   reshuffle per epoch), the ``DataProvider`` SAELens's ``SAETrainer`` pulls from;
3. ``train_sae``: build the SAELens training SAE of the recipe's architecture and ``fit`` it;
4. ``save_sae``: the inference SAE, fp16, in SAELens's folder format (``cfg.json`` +
   ``sae_weights.safetensors``) with ``training.json`` beside it (recipe, tokens, tokens/s, wall
   time, the model's hash). ``load_sae(folder)`` reads it back with ``sae_lens.SAE.load_from_disk``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from sae_lens import (
    SAE, BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig, MatryoshkaBatchTopKTrainingSAE,
    MatryoshkaBatchTopKTrainingSAEConfig, StandardTrainingSAE, StandardTrainingSAEConfig, TopKTrainingSAE,
    TopKTrainingSAEConfig,
)
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE
from sae_lens.training.sae_trainer import SAETrainer

from othello_core.analysis.activation_store import real_positions
from othello_core.rules.games import GameBatch, random_games
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.analysis.sae.recipe import SAERecipe

TRAINING_FILE = "training.json"
TRAINING_SAES = {"topk": TopKTrainingSAE, "batchtopk": BatchTopKTrainingSAE,
                 "matryoshka": MatryoshkaBatchTopKTrainingSAE, "standard": StandardTrainingSAE}
Progress = Callable  # tqdm-like: progress(iterable, desc=..., total=...) -> iterable


def _iterate(items, progress: Progress | None, desc: str, total: int | None = None):
    return progress(items, desc=desc, total=total) if progress else items


@torch.no_grad()
def collect_stream(model, squares: np.ndarray, lengths: np.ndarray, hook: str, stream: int,
                   batch_games: int = 128, progress: Progress | None = None,
                   dtype: torch.dtype = torch.float16) -> torch.Tensor:
    """``[tokens, width]``: ``hook`` at every real position of every game (float16 by default: the
    training set is held in memory), in ``real_positions`` order. The forward stops at block ``stream``
    (the block after the hook: stream ``L`` is after block ``L - 1``); ``width`` is the hook's (d_model for a
    stream, d_mlp for a block's neurons)."""
    batch = GameBatch(squares, lengths)
    pick = real_positions(batch)  # [rows, 2] (game, position)
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    device = next(model.parameters()).device
    out = None
    row = 0
    starts = range(0, len(tokens), batch_games)
    for start in _iterate(starts, progress, f"activations of {hook}", len(starts)):
        _, cache = model.run_with_cache(tokens[start:start + batch_games].to(device),
                                        names_filter=hook, stop_at_layer=max(stream, 1))
        sel = pick[(pick[:, 0] >= start) & (pick[:, 0] < start + batch_games)]
        if out is None:
            out = torch.empty(len(pick), cache[hook].shape[-1], dtype=dtype)
        out[row:row + len(sel)] = cache[hook][sel[:, 0] - start, sel[:, 1]].to("cpu", dtype)
        row += len(sel)
    return out


def shuffled_batches(acts: torch.Tensor, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless float32 minibatches of ``acts``, every row once per epoch in a fresh order."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(acts), generator=gen)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield acts[order[start:start + batch_size]].float()


def training_sae_config(recipe: SAERecipe, d_model: int, device: str, model_name: str):
    """The SAELens training config of ``recipe`` (activations scaled to unit mean norm, folded at the end)."""
    common = dict(d_in=d_model, d_sae=recipe.d_sae(d_model), device=device, dtype="float32",
                  normalize_activations="expected_average_only_in")
    if recipe.architecture == "topk":
        cfg = TopKTrainingSAEConfig(k=recipe.k, rescale_acts_by_decoder_norm=True, use_sparse_activations=False, **common)
    elif recipe.architecture == "batchtopk":
        cfg = BatchTopKTrainingSAEConfig(k=recipe.k, rescale_acts_by_decoder_norm=True, **common)
    elif recipe.architecture == "matryoshka":
        cfg = MatryoshkaBatchTopKTrainingSAEConfig(k=recipe.k, rescale_acts_by_decoder_norm=True,
                                                   matryoshka_widths=recipe.matryoshka_levels(d_model), **common)
    else:
        cfg = StandardTrainingSAEConfig(l1_coefficient=recipe.l1_coefficient,
                                        l1_warm_up_steps=_steps(recipe, 1) // 20, **common)
    cfg.metadata.model_name = model_name
    cfg.metadata.hook_name = recipe.hook
    cfg.metadata.context_size = MODEL_CONTEXT
    cfg.metadata.prepend_bos = False
    return cfg


@torch.no_grad()
def init_b_dec_at_mean(sae: TrainingSAE, acts: torch.Tensor, rows: int = 100_000) -> None:
    """Start the decoder bias at the activations' mean, in the units SAELens trains in (scaled to mean
    norm sqrt(d_in), as its ``expected_average_only_in`` normalisation does). The stream has a large
    mean; from a zero bias it dominates every pre-activation, so TopK keeps choosing the same few
    features and most never fire."""
    sample = acts[:rows].float()
    scale = sample.shape[1] ** 0.5 / sample.norm(dim=-1).mean()
    sae.b_dec.copy_((sample.mean(0) * scale).to(sae.b_dec.dtype))


def _steps(recipe: SAERecipe, n_tokens: int) -> int:
    return max(1, n_tokens * recipe.epochs // recipe.batch_size)


def train_sae(acts: torch.Tensor, recipe: SAERecipe, model_name: str, device: str = "cpu") -> TrainingSAE:
    """Fit a SAELens training SAE of ``recipe`` on ``acts`` ``[tokens, d_model]`` with ``SAETrainer``."""
    torch.manual_seed(recipe.seed)
    cfg = training_sae_config(recipe, acts.shape[1], device, model_name)
    sae = TRAINING_SAES[recipe.architecture](cfg)
    if recipe.init_b_dec_mean:
        init_b_dec_at_mean(sae, acts)
    steps = _steps(recipe, len(acts))
    trainer_cfg = SAETrainerConfig(
        total_training_samples=steps * recipe.batch_size, train_batch_size_samples=recipe.batch_size,
        lr=recipe.lr, lr_end=recipe.lr / 10, lr_scheduler_name="cosineannealing",
        lr_warm_up_steps=int(steps * recipe.warmup_fraction), device=device,
        dead_feature_window=max(steps // 4, 1), feature_sampling_window=max(steps // 4, 1),
        n_batches_for_norm_estimate=min(20, steps))
    return SAETrainer(trainer_cfg, sae, shuffled_batches(acts, recipe.batch_size, recipe.seed)).fit()


def save_sae(sae: TrainingSAE, folder: Path | str, info: dict) -> Path:
    """Write the inference SAE in fp16 (SAELens's format) and ``training.json`` into ``folder``."""
    folder = Path(folder)
    sae.save_inference_model(folder)  # float32 first: SAELens turns the training SAE into its inference one
    inference = SAE.load_from_disk(folder)
    inference.cfg.dtype = "float16"
    inference.to(torch.float16).save_model(folder)
    (folder / TRAINING_FILE).write_text(json.dumps(info, indent=1) + "\n")
    return folder


def load_sae(folder: Path | str, device: str = "cpu") -> SAE:
    """An SAE folder as a float32 SAELens ``SAE`` (fp16 on disk; CPUs multiply float32 faster)."""
    return SAE.load_from_disk(Path(folder), device=device, dtype="float32").eval()


def read_training_info(folder: Path | str) -> dict:
    return json.loads((Path(folder) / TRAINING_FILE).read_text())


def collect_recipe(model, recipe: SAERecipe, progress: Progress | None = None) -> tuple[torch.Tensor, float]:
    """``(activations, seconds)``: the recipe's stream over its fresh games (``collect_stream``)."""
    start = time.perf_counter()
    games = random_games(recipe.games, seed=recipe.seed)
    acts = collect_stream(model, games.squares, games.lengths, recipe.hook, recipe.stream, recipe.collect_batch,
                          progress)
    return acts, time.perf_counter() - start


def run_recipe(model, recipe: SAERecipe, folder: Path | str, model_name: str, model_hash: str,
               progress: Progress | None = None, acts: torch.Tensor | None = None,
               collect_s: float | None = None) -> dict:
    """Collect (unless ``acts`` is given, collected earlier in ``collect_s`` seconds), train and save;
    returns what ``training.json`` records."""
    if acts is not None and collect_s is None:
        raise ValueError("activations collected earlier need their collection time (collect_s)")
    collected_earlier = acts is not None
    if acts is None:
        acts, collect_s = collect_recipe(model, recipe, progress)
    device = str(next(model.parameters()).device)
    start = time.perf_counter()
    sae = train_sae(acts, recipe, model_name, device)
    train_s = time.perf_counter() - start
    samples = _steps(recipe, len(acts)) * recipe.batch_size
    info = {"recipe": recipe.as_dict(), "hook": recipe.hook, "model": model_name, "model_hash": model_hash,
            "device": device, "torch_threads": torch.get_num_threads(), "tokens": len(acts),
            "training_samples": samples, "collect_s": round(collect_s, 1), "train_s": round(train_s, 1),
            "wall_s": round(collect_s + train_s, 1), "collect_tokens_per_s": round(len(acts) / max(collect_s, 1e-9), 1),
            "train_tokens_per_s": round(samples / max(train_s, 1e-9), 1),
            "activations": "collected earlier (--acts-cache)" if collected_earlier else "collected in this run"}
    save_sae(sae, folder, info)
    return info
