"""Residual streams on disk: one float16 memory-mapped file per stream, so probes at the paper's
scale never hold every stream in RAM at once.

``write_store(model, batch, folder)`` runs the model once over the games and writes, for every
real move position of every game, each stream's ``d_model`` vector (``stream_00.f16`` ...), the
labels of those positions and which game/position each row is (``rows.npz``), and ``meta.json``
last, so a folder with ``meta.json`` is complete. ``ActivationStore(folder)`` reads it back one
stream at a time (``store.stream(i)`` -> float32 ``[rows, d_model]``).

>>> import tempfile, torch
>>> from othello_core.rules.games import random_games
>>> from othello_core.model.hooked_transformer import build_model
>>> from othello_core.model.weights import ModelShape
>>> model = build_model(ModelShape(n_layers=1, d_model=8, n_heads=2, d_mlp=16), device="cpu", seed=0)
>>> games = random_games(3, seed=0, labels=True)
>>> store = write_store(model, games, tempfile.mkdtemp())
>>> store.n_streams, store.n_rows == len(real_positions(games)), store.stream(1).shape[1]
(2, True, 8)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from othello_core.rules.games import GameBatch
from othello_core.rules.hooks import stream_hooks
from othello_core.rules.notation import MODEL_CONTEXT

META_FILE = "meta.json"
ROWS_FILE = "rows.npz"


def _stream_file(folder: Path, stream: int) -> Path:
    return folder / f"stream_{stream:02d}.f16"


def real_positions(batch: GameBatch) -> np.ndarray:
    """``[rows, 2]`` (game, position) for every position with a real move (< ``MODEL_CONTEXT``)."""
    n_pos = np.minimum(batch.lengths, MODEL_CONTEXT)
    return np.concatenate([np.stack([np.full(n, g), np.arange(n)], 1) for g, n in enumerate(n_pos)])


@dataclass
class ActivationStore:
    """A folder written by ``write_store``; streams are read on demand."""

    folder: Path

    def __post_init__(self):
        self.folder = Path(self.folder)
        meta_path = self.folder / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(f"{self.folder} is not a finished activation store (no {META_FILE})")
        self.meta = json.loads(meta_path.read_text())
        rows = np.load(self.folder / ROWS_FILE)
        self.game, self.position = rows["game"], rows["position"]
        self.labels = {k[len("label_"):]: rows[k] for k in rows.files if k.startswith("label_")}

    @property
    def n_streams(self) -> int:
        return int(self.meta["n_streams"])

    @property
    def n_rows(self) -> int:
        return int(self.meta["n_rows"])

    def stream(self, index: int, rows: np.ndarray | None = None) -> torch.Tensor:
        """Stream ``index`` as float32 ``[rows, d_model]`` (all rows, or the given row indices)."""
        mm = np.memmap(_stream_file(self.folder, index), dtype=np.float16, mode="r",
                       shape=(self.n_rows, int(self.meta["d_model"])))
        data = mm if rows is None else mm[rows]
        return torch.from_numpy(np.asarray(data, dtype=np.float32))


def is_complete(folder: Path | str, model_hash: str, games: int | None = None) -> bool:
    """Whether ``folder`` holds a finished store of ``model_hash`` (over ``games`` games, if given)."""
    meta = Path(folder) / META_FILE
    if not meta.exists():
        return False
    written = json.loads(meta.read_text())
    return written.get("model_hash") == model_hash and games in (None, written.get("games"))


@torch.no_grad()
def write_store(model, batch: GameBatch, folder: Path | str, model_hash: str = "",
                batch_size: int = 64, progress: Callable | None = None) -> ActivationStore:
    """Run ``model`` over every game of ``batch`` and write every stream at every real position."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_FILE).unlink(missing_ok=True)
    hooks = stream_hooks(model.cfg.n_layers)
    wanted = set(hooks)
    pick = real_positions(batch)
    d_model = model.cfg.d_model
    files = [np.memmap(_stream_file(folder, s), dtype=np.float16, mode="w+", shape=(len(pick), d_model))
             for s in range(len(hooks))]
    device = next(model.parameters()).device
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    starts = range(0, len(tokens), batch_size)
    row = 0
    for start in (progress(starts) if progress else starts):
        _, cache = model.run_with_cache(tokens[start:start + batch_size].to(device),
                                        names_filter=wanted.__contains__)
        sel = pick[(pick[:, 0] >= start) & (pick[:, 0] < start + batch_size)]
        for s, hook in enumerate(hooks):
            files[s][row:row + len(sel)] = cache[hook][sel[:, 0] - start, sel[:, 1]].to("cpu", torch.float16).numpy()
        row += len(sel)
    for mm in files:
        mm.flush()
    labels = {f"label_{k}": v[pick[:, 0], pick[:, 1]] for k, v in (batch.labels or {}).items()}
    np.savez(folder / ROWS_FILE, game=pick[:, 0], position=pick[:, 1], **labels)
    (folder / META_FILE).write_text(json.dumps({"n_rows": len(pick), "d_model": d_model,
                                                "n_streams": len(hooks), "hooks": hooks,
                                                "model_hash": model_hash, "games": len(batch)}))
    return ActivationStore(folder)
