"""Board probes on the residual stream: collect, fit, evaluate, save, reconstruct.

Layers. Stream ``0`` is the embedding (``blocks.0.hook_resid_pre``); stream ``L`` (1..n_layers)
is the residual stream after block ``L-1`` (``blocks.{L-1}.hook_resid_post``), i.e. "after
layer L" as in Hazineh et al., Table 1.

Probe kinds (per square, the labels of ``games.py``, position ``p`` = after move ``p``):

* ``mine_theirs``: empty / mine / theirs (mine = the player to move next);
* ``black_white``: empty / black / white;
* ``blank``: occupied / empty;
* ``flipped``: not flipped / flipped by the last move;
* ``legal``: illegal / legal next move.

Linear probes are multinomial logistic regressions, one per square (weights
``[layers, d_model, 64, classes]``); MLP probes (Li et al.) are one hidden ReLU layer of width
128 or 512 from the residual stream to all 64x3 logits. All layers train at once as batched
tensors. Scalar "simpler features" (disc counts, row/diagonal occupancy, who moves next) get
ridge-regression / logistic probes so a reader can see whether the MLP's edge in the colour
basis could be composed from such features.

Probes are tied to the model they were trained on: the file stores the model hash and
``load_probes`` refuses another model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from othello_core.rules.games import GameBatch
from othello_core.rules.hooks import stream_hooks, stream_label
from othello_core.rules.notation import MODEL_CONTEXT

KINDS: dict[str, int] = {"mine_theirs": 3, "black_white": 3, "blank": 2, "flipped": 2, "legal": 2}
CLASS_NAMES = {
    "mine_theirs": ("empty", "mine", "theirs"),
    "black_white": ("empty", "black", "white"),
    "blank": ("occupied", "empty"),
    "flipped": ("kept", "flipped"),
    "legal": ("illegal", "legal"),
}
MLP_KINDS = ("mine_theirs", "black_white")
# Move numbers (1-based, inclusive) that Nanda's and ARENA's probe code trains and scores on
# (positions 5 to n_ctx - 5). Reports give ``span_accuracy`` over them next to the all-positions
# ``cell_accuracy``: the figure to set beside theirs.
PUBLISHED_SPAN = (6, 54)


def in_published_span(positions):
    """Whether 0-based ``positions`` (after move ``p + 1``) fall in ``PUBLISHED_SPAN``."""
    first, last = PUBLISHED_SPAN
    return (positions >= first - 1) & (positions <= last - 1)


MLP_WIDTHS = (128, 512)
PROBES_FILE = "probes.safetensors"
REPORT_FILE = "probes_report.json"


class ProbeMismatchError(RuntimeError):
    """Probes trained on another model."""


def kind_targets(labels: dict[str, np.ndarray], kind: str) -> np.ndarray:
    """Integer class per square for ``kind`` from ``games`` labels (any leading shape)."""
    if kind == "mine_theirs":
        return labels["relative"].astype(np.int64)
    if kind == "black_white":
        return labels["board"].astype(np.int64)
    if kind == "blank":
        return (labels["board"] == 0).astype(np.int64)
    return labels[kind].astype(np.int64)


def simple_features(labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Coarse board features per position: the candidates for "simpler representations"."""
    board = labels["board"]  # [..., 64]
    grid = board.reshape(board.shape[:-1] + (8, 8))
    occupied = grid != 0
    diag = np.stack([np.trace(occupied, offset=k, axis1=-2, axis2=-1) for k in range(-7, 8)], -1)
    anti = np.stack([np.trace(occupied[..., ::-1], offset=k, axis1=-2, axis2=-1) for k in range(-7, 8)], -1)
    return {
        "n_black": (board == 1).sum(-1, keepdims=True).astype(np.float32),
        "n_white": (board == 2).sum(-1, keepdims=True).astype(np.float32),
        "n_empty": (board == 0).sum(-1, keepdims=True).astype(np.float32),
        "row_occupancy": occupied.sum(-1).astype(np.float32),
        "column_occupancy": occupied.sum(-2).astype(np.float32),
        "diagonal_occupancy": diag.astype(np.float32),
        "antidiagonal_occupancy": anti.astype(np.float32),
        "black_to_move": (labels["to_move"] == 1)[..., None].astype(np.float32),
    }


@dataclass
class Activations:
    """Residual streams at sampled positions, in memory: ``resid [streams, samples, d_model]``.
    ``activation_store.ActivationStore`` is the disk-backed twin (the same ``stream``/``labels``/
    ``position`` interface) for probes at scale."""

    resid: torch.Tensor
    labels: dict[str, np.ndarray]  # each [samples, 64] (to_move/mover: [samples])
    game: np.ndarray  # [samples] index of the game in its batch
    position: np.ndarray  # [samples]

    @property
    def n_streams(self) -> int:
        return self.resid.shape[0]

    def stream(self, index: int, rows: np.ndarray | None = None) -> torch.Tensor:
        x = self.resid[index]
        return (x if rows is None else x[torch.as_tensor(rows)]).float()


@torch.no_grad()
def collect_activations(model, batch: GameBatch, positions_per_game: int | None = 20,
                        seed: int = 0, batch_size: int = 64, progress: Callable | None = None) -> Activations:
    """Run ``model`` over the games and keep every stream at a few sampled positions.

    Only positions with a real move (< 59) are used; ``positions_per_game=None`` keeps all.
    Activations are kept in float16 on the CPU to bound memory.
    """
    hooks = stream_hooks(model.cfg.n_layers)
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    n_pos = np.minimum(batch.lengths, MODEL_CONTEXT)
    picks = []
    for g, n in enumerate(n_pos):
        chosen = np.arange(n) if positions_per_game is None or n <= positions_per_game else \
            np.sort(rng.choice(n, positions_per_game, replace=False))
        picks.append(np.stack([np.full(len(chosen), g), chosen], 1))
    pick = np.concatenate(picks)
    chunks = []
    wanted = set(hooks)
    starts = range(0, len(tokens), batch_size)
    for start in (progress(starts) if progress else starts):
        _, cache = model.run_with_cache(tokens[start:start + batch_size].to(device),
                                        names_filter=wanted.__contains__)
        sel = pick[(pick[:, 0] >= start) & (pick[:, 0] < start + batch_size)]
        stacked = torch.stack([cache[h] for h in hooks])  # [streams, batch, pos, d]
        chunks.append(stacked[:, sel[:, 0] - start, sel[:, 1]].to("cpu", torch.float16))
    labels = {k: v[pick[:, 0], pick[:, 1]] for k, v in batch.labels.items()}
    return Activations(torch.cat(chunks, 1), labels, pick[:, 0], pick[:, 1])


@dataclass
class ProbeSet:
    """Trained probes of one model, for every stream."""

    model_hash: str
    n_streams: int
    linear: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    mlp: dict[tuple[str, int], tuple[torch.Tensor, ...]] = field(default_factory=dict)

    @torch.no_grad()
    def linear_probs(self, kind: str, resid: torch.Tensor, streams: list[int] | None = None) -> torch.Tensor:
        """``resid [streams, n, d]`` -> class probabilities ``[streams, n, 64, C]``; with ``streams``,
        ``resid`` holds just those streams, in that order."""
        w, b = self.linear[kind]
        if streams is not None:
            w, b = w[streams], b[streams]
        logits = torch.einsum("lnd,ldsc->lnsc", resid.float(), w) + b[:, None]
        return logits.softmax(-1)

    @torch.no_grad()
    def mlp_probs(self, kind: str, width: int, resid: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2 = self.mlp[(kind, width)]
        hidden = torch.relu(torch.einsum("lnd,ldh->lnh", resid.float(), w1) + b1[:, None])
        logits = torch.einsum("lnh,lho->lno", hidden, w2) + b2[:, None]
        return logits.reshape(logits.shape[:2] + (64, -1)).softmax(-1)

    def direction(self, kind: str, stream: int, square: int, towards: int, away: int) -> torch.Tensor:
        """Difference of two class weight vectors of a linear probe: ``[d_model]``.

        ``direction("mine_theirs", L, sq, 1, 2)`` points from "theirs" to "mine";
        ``direction("blank", L, sq, 1, 0)`` points from occupied to empty.
        """
        w, _ = self.linear[kind]
        return w[stream, :, square, towards] - w[stream, :, square, away]

    def save(self, folder: Path | str, meta: dict | None = None) -> Path:
        tensors = {}
        for kind, (w, b) in self.linear.items():
            tensors[f"linear.{kind}.W"], tensors[f"linear.{kind}.b"] = w, b
        for (kind, width), params in self.mlp.items():
            for name, t in zip(("W1", "b1", "W2", "b2"), params):
                tensors[f"mlp.{kind}.{width}.{name}"] = t
        path = Path(folder) / PROBES_FILE
        save_file({k: v.to(torch.float16).contiguous() for k, v in tensors.items()}, str(path),
                  metadata={"model_hash": self.model_hash, "n_streams": str(self.n_streams),
                            "meta": json.dumps(meta or {})})
        return path


def load_probes(folder: Path | str, model_hash: str | None = None) -> ProbeSet:
    """Load probes; with ``model_hash``, refuse probes trained on another model."""
    path = Path(folder) / PROBES_FILE
    if not path.exists():
        raise FileNotFoundError(f"no probes at {path}: train them with "
                                "`python -m othello_core probes train`")
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k).float() for k in fh.keys()}  # stored as float16
    if model_hash is not None and meta["model_hash"] != model_hash:
        raise ProbeMismatchError(
            f"the probes in {path} were trained on model {meta['model_hash']}, not on the loaded "
            f"model {model_hash}: retrain them with `python -m othello_core probes train`")
    probes = ProbeSet(meta["model_hash"], int(meta["n_streams"]))
    for key in tensors:
        parts = key.split(".")
        if parts[0] == "linear" and parts[2] == "W":
            probes.linear[parts[1]] = (tensors[key], tensors[f"linear.{parts[1]}.b"])
        elif parts[0] == "mlp" and parts[3] == "W1":
            pre = f"mlp.{parts[1]}.{parts[2]}"
            probes.mlp[(parts[1], int(parts[2]))] = tuple(tensors[f"{pre}.{n}"] for n in ("W1", "b1", "W2", "b2"))
    return probes


def _minibatches(n: int, batch: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch):
        yield order[start:start + batch]


@dataclass(frozen=True)
class FitSettings:
    """How a probe is optimised: AdamW, ``lr`` multiplied by ``lr_decay`` after every epoch, at most
    ``max_epochs``. With held-out data and ``stop_delta``, training stops once held-out accuracy has
    moved less than ``stop_delta`` over the last ``stop_window`` epochs (converged)."""

    lr: float
    batch: int
    max_epochs: int = 12
    lr_decay: float = 0.7
    weight_decay: float = 1e-4
    stop_delta: float | None = 0.001
    stop_window: int = 2


LINEAR_FIT = FitSettings(lr=2e-2, batch=2048)
MLP_FIT = FitSettings(lr=2e-3, batch=1024)
# Li et al.'s protocol: width 512, 16 epochs, lr 1e-3, batch 1024, no early stop.
LI_FIT = FitSettings(lr=1e-3, batch=1024, max_epochs=16, lr_decay=1.0, stop_delta=None)


@dataclass
class Fit:
    """A fitted probe's parameters and its curve: ``history[e]`` = {epoch, train_accuracy,
    test_accuracy (None without held-out data)}; ``converged`` says whether the stop rule fired."""

    params: tuple[torch.Tensor, ...]
    history: list[dict]
    converged: bool


@torch.no_grad()
def _held_out(logits_fn: Callable, x: torch.Tensor, y: torch.Tensor, chunk: int = 8192) -> float:
    right = 0.0
    for start in range(0, x.shape[1], chunk):
        right += float((logits_fn(x[:, start:start + chunk].float()).argmax(-1) == y[None, start:start + chunk])
                       .float().mean((0, 2)).sum())
    return right / x.shape[1]


def _fit(params: list[torch.Tensor], logits_fn: Callable, resid: torch.Tensor, targets: torch.Tensor,
         classes: int, settings: FitSettings, gen: torch.Generator,
         test: tuple[torch.Tensor, torch.Tensor] | None = None, progress: Callable | None = None,
         desc: str = "probe") -> tuple[list[dict], bool]:
    """``logits_fn(x [L, b, d]) -> [L, b, 64, C]``; returns the per-epoch history and ``converged``."""
    n_streams, n, _ = resid.shape
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    history: list[dict] = []
    steps_per_epoch = (n + settings.batch - 1) // settings.batch
    for epoch in range(1, settings.max_epochs + 1):
        right, seen = 0.0, 0
        batches = _minibatches(n, settings.batch, gen)
        if progress:
            batches = progress(batches, total=steps_per_epoch, desc=f"{desc} epoch {epoch}")
        for idx in batches:
            logits = logits_fn(resid[:, idx].float())
            y = targets[idx].expand(n_streams, -1, -1)
            loss = F.cross_entropy(logits.reshape(-1, classes), y.reshape(-1)) * n_streams
            opt.zero_grad()
            loss.backward()
            opt.step()
            right += float((logits.detach().argmax(-1) == y).float().mean()) * len(idx)
            seen += len(idx)
        for group in opt.param_groups:
            group["lr"] *= settings.lr_decay
        held_out = _held_out(logits_fn, *test) if test is not None else None
        history.append({"epoch": epoch, "train_accuracy": round(right / seen, 5),
                        "test_accuracy": None if held_out is None else round(held_out, 5)})
        window = settings.stop_window
        if held_out is not None and settings.stop_delta is not None and len(history) > window and \
                abs(held_out - history[-1 - window]["test_accuracy"]) < settings.stop_delta:
            return history, True
    return history, False


def _stream_scale(resid: torch.Tensor) -> torch.Tensor:
    """Per-stream RMS ``[L, 1, 1]``: inputs are divided by it while fitting (the residual norm
    grows with depth), and it is folded back into the first weights afterwards."""
    return resid.float().pow(2).mean((1, 2), keepdim=True).sqrt().clamp(min=1e-6)


def fit_linear(resid: torch.Tensor, targets: torch.Tensor, classes: int, settings: FitSettings = LINEAR_FIT,
               seed: int = 0, test: tuple[torch.Tensor, torch.Tensor] | None = None,
               progress: Callable | None = None, desc: str = "linear") -> Fit:
    """Per-square multinomial logistic regression for every stream at once.

    ``resid [L, n, d]``, ``targets [n, 64]`` (``test``: the same, held out) -> ``Fit`` with
    ``params = (W [L, d, 64, C], b [L, 64, C])`` that apply to raw residuals.
    """
    gen = torch.Generator().manual_seed(seed)
    n_streams, _, d = resid.shape
    scale = _stream_scale(resid)
    w = torch.zeros(n_streams, d, 64, classes, requires_grad=True, device=resid.device)
    b = torch.zeros(n_streams, 64, classes, requires_grad=True, device=resid.device)
    logits = lambda x: torch.einsum("lnd,ldsc->lnsc", x / scale, w) + b[:, None]  # noqa: E731
    history, converged = _fit([w, b], logits, resid, targets, classes, settings, gen, test, progress, desc)
    return Fit((w.detach() / scale[..., None], b.detach()), history, converged)


def fit_mlp(resid: torch.Tensor, targets: torch.Tensor, classes: int, width: int,
            settings: FitSettings = MLP_FIT, seed: int = 0, test: tuple[torch.Tensor, torch.Tensor] | None = None,
            progress: Callable | None = None, desc: str = "mlp") -> Fit:
    """One-hidden-layer ReLU MLP probe (Li et al.) for every stream at once: ``Fit`` with
    ``params = (W1 [L, d, h], b1 [L, h], W2 [L, h, 64*C], b2 [L, 64*C])`` on raw residuals."""
    gen = torch.Generator().manual_seed(seed)
    n_streams, _, d = resid.shape
    scale = _stream_scale(resid)
    dev = resid.device
    w1 = (torch.randn(n_streams, d, width, generator=gen) / d ** 0.5).to(dev).requires_grad_()
    b1 = torch.zeros(n_streams, width, requires_grad=True, device=dev)
    w2 = (torch.randn(n_streams, width, 64 * classes, generator=gen) / width ** 0.5).to(dev).requires_grad_()
    b2 = torch.zeros(n_streams, 64 * classes, requires_grad=True, device=dev)

    def logits(x):
        hidden = torch.relu(torch.einsum("lnd,ldh->lnh", x / scale, w1) + b1[:, None])
        out = torch.einsum("lnh,lho->lno", hidden, w2) + b2[:, None]
        return out.reshape(out.shape[:2] + (64, classes))

    history, converged = _fit([w1, b1, w2, b2], logits, resid, targets, classes, settings, gen, test,
                              progress, desc)
    return Fit((w1.detach() / scale, b1.detach(), w2.detach(), b2.detach()), history, converged)


def accuracy_report(probs: torch.Tensor, targets: torch.Tensor, positions: np.ndarray | None = None) -> list[dict]:
    """Per stream: cell accuracy, whole-board accuracy (all 64 right), per-square accuracy and,
    given each sample's ``positions``, cell accuracy per move number (``by_move[p]``: after move
    ``p + 1``; ``None`` where no sample has that position) and over ``PUBLISHED_SPAN``
    (``span_accuracy``; ``None`` where no sample falls in it)."""
    correct = probs.argmax(-1) == targets[None]  # [L, n, 64]
    rows = [{"cell_accuracy": round(float(c.float().mean()), 5),
             "board_accuracy": round(float(c.all(-1).float().mean()), 5),
             "per_square": [round(float(x), 4) for x in c.float().mean(0)]} for c in correct]
    if positions is not None:
        positions = torch.as_tensor(positions)
        counts = torch.bincount(positions, minlength=MODEL_CONTEXT).float()
        in_span = in_published_span(positions)
        for row, c in zip(rows, correct):
            right = torch.zeros(MODEL_CONTEXT).index_add_(0, positions, c.float().mean(-1))
            row["by_move"] = [round(float(r / n), 4) if n else None for r, n in zip(right, counts)]
            row["span_accuracy"] = round(float(c[in_span].float().mean()), 5) if in_span.any() else None
    return rows


def fit_features(x: torch.Tensor, labels: dict, x_test: torch.Tensor, labels_test: dict,
                 ridge: float = 1.0) -> dict[str, float]:
    """Held-out R^2 of a ridge regression from one stream (``x [n, d]``) to each simple feature."""
    f_train, f_test = simple_features(labels), simple_features(labels_test)
    ones = lambda a: torch.cat([a.float().cpu(), torch.ones(len(a), 1)], 1)  # noqa: E731
    x1, xt = ones(x), ones(x_test)
    gram = x1.T @ x1 + ridge * torch.eye(x1.shape[1])
    out = {}
    for name in f_train:
        y, y_test = torch.as_tensor(f_train[name]), torch.as_tensor(f_test[name])
        pred = xt @ torch.linalg.solve(gram, x1.T @ y)
        ss_res = ((y_test - pred) ** 2).sum(0)
        ss_tot = ((y_test - y_test.mean(0)) ** 2).sum(0).clamp(min=1e-9)
        out[name] = round(float((1 - ss_res / ss_tot).mean()), 4)
    return out


def _row(fit: Fit, probs: torch.Tensor, targets: torch.Tensor, positions) -> dict:
    """One stream's report row: accuracies on the held-out data plus the training curve."""
    row = accuracy_report(probs, targets, positions)[0]  # probs [1, n, 64, C]
    return row | {"epochs": len(fit.history), "converged": fit.converged, "history": fit.history}


def _stack(fits: list[Fit]) -> tuple[torch.Tensor, ...]:
    """Per-stream probe parameters (each with a leading stream axis of 1) -> one tensor per
    parameter with every stream."""
    return tuple(torch.cat([f.params[i].cpu() for f in fits]) for i in range(len(fits[0].params)))


def train_stream(x: torch.Tensor, labels: dict, x_test: torch.Tensor, test_labels: dict, test_positions,
                 train_positions, mlp_widths: tuple[int, ...] = MLP_WIDTHS, linear_fit: FitSettings = LINEAR_FIT,
                 mlp_fit: FitSettings = MLP_FIT, seed: int = 0, progress: Callable | None = None,
                 name: str = "stream", features: bool = True) -> dict:
    """Every probe of one stream (``x [n, d]``, held-out ``x_test``): the linear kinds, the MLP kinds
    at each width, linear mine/theirs and colour trained on ``PUBLISHED_SPAN`` only, the simple
    features. Returns ``{"linear": {kind: (Fit, row)}, "mlp": {(kind, width): (Fit, row)},
    "linear_span": {kind: row}, "baseline": {kind: acc}, "features_r2": {...}}``."""
    out: dict = {"linear": {}, "mlp": {}, "linear_span": {}, "baseline": {}}
    x, x_test = x[None], x_test[None]
    probe = ProbeSet("", 1)
    span, span_test = (torch.as_tensor(in_published_span(np.asarray(p))) for p in (train_positions, test_positions))
    for kind, classes in KINDS.items():
        y = torch.as_tensor(kind_targets(labels, kind)).to(x.device)
        y_test = torch.as_tensor(kind_targets(test_labels, kind)).to(x.device)
        fit = fit_linear(x, y, classes, linear_fit, seed, (x_test, y_test), progress, f"{name} linear {kind}")
        probe.linear[kind] = fit.params
        out["linear"][kind] = (fit, _row(fit, probe.linear_probs(kind, x_test).cpu(), y_test.cpu(), test_positions))
        majority = torch.stack([torch.bincount(y[:, s], minlength=classes).argmax() for s in range(64)])
        out["baseline"][kind] = round(float((y_test == majority).float().mean()), 5)
        if kind in MLP_KINDS:
            fit = fit_linear(x[:, span], y[span], classes, linear_fit, seed, (x_test[:, span_test], y_test[span_test]),
                             progress, f"{name} linear {kind} moves {PUBLISHED_SPAN[0]}-{PUBLISHED_SPAN[1]}")
            probe.linear[kind] = fit.params
            out["linear_span"][kind] = _row(fit, probe.linear_probs(kind, x_test[:, span_test]).cpu(),
                                            y_test[span_test].cpu(), np.asarray(test_positions)[span_test.numpy()])
            for width in mlp_widths:
                fit = fit_mlp(x, y, classes, width, mlp_fit, seed, (x_test, y_test), progress,
                              f"{name} MLP-{width} {kind}")
                probe.mlp[(kind, width)] = fit.params
                out["mlp"][(kind, width)] = (fit, _row(fit, probe.mlp_probs(kind, width, x_test).cpu(),
                                                       y_test.cpu(), test_positions))
    if features:
        out["features_r2"] = fit_features(x[0], labels, x_test[0], test_labels)
    return out


def train_probes(train, test, model_hash: str, mlp_widths: tuple[int, ...] = MLP_WIDTHS,
                 ship_widths: tuple[int, ...] | None = None, linear_fit: FitSettings = LINEAR_FIT,
                 mlp_fit: FitSettings = MLP_FIT, seed: int = 0, device: str = "cpu",
                 progress: Callable | None = None, stream_done: Callable | None = None,
                 features: bool = True) -> tuple[ProbeSet, dict]:
    """Fit every probe kind on every stream of ``train``, scored on ``test`` (in-memory
    ``Activations`` or disk-backed ``ActivationStore``: one stream in memory at a time).

    ``ship_widths`` (default: all) are the MLP widths kept in the returned ``ProbeSet``; the report
    has every width. ``stream_done(stream, result)`` may return a cached result to skip a stream
    (see ``probe_suite``)."""
    torch.manual_seed(seed)
    ship_widths = mlp_widths if ship_widths is None else ship_widths
    results = []
    for stream in range(train.n_streams):
        result = stream_done(stream, None) if stream_done else None
        if result is None:
            result = train_stream(train.stream(stream).to(device), train.labels, test.stream(stream).to(device),
                                  test.labels, test.position, train.position, mlp_widths, linear_fit, mlp_fit, seed,
                                  progress, stream_label(stream), features)
            if stream_done:
                stream_done(stream, result)
        results.append(result)
    probes = ProbeSet(model_hash, train.n_streams)
    report: dict = {"model_hash": model_hash, "layers": list(range(train.n_streams)),
                    "layer_names": [stream_label(s) for s in range(train.n_streams)],
                    "samples": {"train": len(train.position), "test": len(test.position)},
                    "fit": {"linear": asdict(linear_fit), "mlp": asdict(mlp_fit)},
                    "linear": {}, "mlp": {}, "linear_span": {}, "baseline": {}}
    for kind in KINDS:
        probes.linear[kind] = _stack([r["linear"][kind][0] for r in results])
        report["linear"][kind] = [r["linear"][kind][1] for r in results]
        report["baseline"][kind] = results[0]["baseline"][kind]
    for kind in MLP_KINDS:
        report["linear_span"][kind] = [r["linear_span"][kind] for r in results]
        for width in mlp_widths:
            report["mlp"].setdefault(kind, {})[str(width)] = [r["mlp"][(kind, width)][1] for r in results]
            if width in ship_widths:
                probes.mlp[(kind, width)] = _stack([r["mlp"][(kind, width)][0] for r in results])
    if features:
        report["features_r2"] = {name: [r["features_r2"][name] for r in results] for name in results[0]["features_r2"]}
    return probes, report


def report_rows(report: dict, method: str, kind: str, width: int | None = None) -> list[dict]:
    """The per-layer rows of one probe (``method`` "linear" or "mlp") in a report."""
    return report[method][kind] if method == "linear" else report[method][kind][str(width)]


def curve(report: dict, method: str, kind: str, width: int | None = None,
          metric: str = "cell_accuracy") -> list[float]:
    """One accuracy-per-layer curve out of a report."""
    return [row[metric] for row in report_rows(report, method, kind, width)]


def kind_curve(section: dict, method: str, kind: str, width: int | None = None,
               metric: str = "cell_accuracy") -> list[float] | None:
    """``curve`` out of any report section (the report itself, ``report["control"]``, a
    ``li_protocol`` entry), or ``None`` where the section lacks that probe."""
    rows = section.get(method, {}).get(kind)
    if method == "mlp" and rows is not None:
        rows = rows.get(str(width))
    return None if not rows else curve(section, method, kind, width, metric)


def widest_mlp(section: dict, kind: str) -> int | None:
    """The widest MLP probe of ``kind`` a report section has (``None``: no MLP probe)."""
    widths = sorted(section.get("mlp", {}).get(kind, {}), key=int)
    return int(widths[-1]) if widths else None


def span_curve(report: dict) -> list[float | None]:
    """The linear mine/theirs probe's accuracy per layer over ``PUBLISHED_SPAN``; ``None`` per layer
    for a report fitted without move positions (it has no ``span_accuracy``)."""
    return [row.get("span_accuracy") for row in report_rows(report, "linear", "mine_theirs")]


def mean_by_move(row: dict, first: int, last: int) -> float:
    """A row's ``by_move`` accuracy averaged over move numbers ``first..last`` (1-based, inclusive)."""
    values = [a for a in row["by_move"][first - 1:last] if a is not None]
    return float(np.mean(values)) if values else float("nan")


def summary_lines(report: dict) -> list[str]:
    """Human-readable per-layer table of the headline curves."""
    first, last = PUBLISHED_SPAN
    lines = ["layer  " + "  ".join(f"{n:>12}" for n in ("lin mine/th", f"(moves {first}-{last})",
                                                        "lin colour", "mlp colour"))]
    mt, bw = curve(report, "linear", "mine_theirs"), curve(report, "linear", "black_white")
    span = span_curve(report)
    width = widest_mlp(report, "black_white")
    mlp = curve(report, "mlp", "black_white", width) if width else [float("nan")] * len(mt)
    for layer, row in enumerate(zip(mt, span, bw, mlp)):
        lines.append(f"{layer:>5}  " + "  ".join(f"{float('nan') if x is None else x:>12.4f}" for x in row))
    return lines
