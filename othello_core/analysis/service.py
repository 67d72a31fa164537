"""The single stateful object: a loaded model (+ its probes) behind one lock.

TransformerLens hooks are global state of a model object, so every model call goes through
``ModelService`` and holds its lock: two browser sessions never interleave hooks, and hooks
added by an intervention are always removed (even on error) before the lock is released. Heavy
hook-free work (activation patching) runs on a second copy that no hook is ever added to, without
the lock (``hook_free_model``), so a click never waits behind it.

``analyze(moves)`` runs ONE forward with a ``names_filter`` cache and returns an ``Analysis``
value (plain numpy arrays) with everything the pages draw for every position of the game:
predicted-move probabilities, true legal moves and boards, probe reconstructions for every
layer, and attention patterns.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from othello_core.analysis.cores import SpareCore
from othello_core.analysis.probes import KINDS, MLP_KINDS, REPORT_FILE, ProbeSet, kind_targets, load_probes
from othello_core.model.evaluate import move_log_probs
from othello_core.model.hooked_transformer import (fork_cache, frozen_prefix, inference_layout, key_value_cache,
                                                   last_position_logits, load_model)
from othello_core.model.weights import UNVERIFIED, model_hash, n_parameters
from othello_core.paths import artifact_folder
from othello_core.rules.games import game_labels
from othello_core.rules.hooks import attn_pattern, stream_hooks
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import moves_to_tokens, token_probs_to_squares


class CountedLock:
    """The service's re-entrant lock, counting how often it was taken (``uses``): a heavy job reads the count to
    see whether visitors are calling the model (``cores.SpareCore``), leaving its own calls out (``uncounted``)."""

    def __init__(self):
        self._lock, self.uses, self._local = threading.RLock(), 0, threading.local()

    def __enter__(self):
        self._lock.acquire()
        if not getattr(self._local, "uncounted", False):
            self.uses += 1
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()

    @contextmanager
    def uncounted(self):
        """This thread's takings of the lock inside the block are not counted."""
        before, self._local.uncounted = getattr(self._local, "uncounted", False), True
        try:
            yield
        finally:
            self._local.uncounted = before


@dataclass(frozen=True)
class Analysis:
    """Everything about one game under one model; index ``p`` = the position after move ``p``.

    ``resid`` keeps every residual stream so probe reconstructions of any position are a
    cheap ``ModelService.probe_position`` call away.
    """

    moves: tuple[int, ...]
    model_name: str
    move_probs: np.ndarray  # [pos, 64]
    legal: np.ndarray  # [pos, 64] bool, true legal next moves
    board: np.ndarray  # [pos, 64] 0 empty / 1 black / 2 white
    relative: np.ndarray  # [pos, 64] 0 empty / 1 mine / 2 theirs
    flipped: np.ndarray  # [pos, 64] bool
    to_move: np.ndarray  # [pos] 1 black / -1 white / 0 over
    patterns: np.ndarray  # [layers, heads, pos, pos]
    resid: np.ndarray  # [streams, pos, d_model]: embedding, then after each layer

    @property
    def n_positions(self) -> int:
        return len(self.move_probs)

    def top1_legal(self) -> np.ndarray:
        """[pos] whether the most probable move is legal (NaN once the game is over)."""
        hit = self.legal[np.arange(self.n_positions), self.move_probs.argmax(-1)].astype(float)
        hit[~self.legal.any(-1)] = np.nan
        return hit

    def truth(self, kind: str) -> np.ndarray:
        """[pos, 64] the true class of every square for a probe ``kind`` (what its probe should read)."""
        return kind_targets({"relative": self.relative, "board": self.board, "flipped": self.flipped,
                             "legal": self.legal}, kind)

    def top_moves(self, position: int, k: int = 5) -> list[tuple[int, float, bool]]:
        probs = self.move_probs[position]
        order = np.argsort(-probs)[:k]
        return [(int(s), float(probs[s]), bool(self.legal[position, s])) for s in order]


PREFIXES_KEPT = 8  # lines whose analysis and keys/values the service keeps, to extend them by one move cheaply


class ModelService:
    """A model, its probes and one lock. Build with ``ModelService.load(source)``."""

    def __init__(self, model, name: str, probes: ProbeSet | None = None,
                 probe_report: dict | None = None, card: str | None = None,
                 probe_error: str | None = None, weights_hash: str | None = None):
        """``weights_hash``: the model's ``model_hash`` when the caller has computed it already. The service
        restrides ``model``'s attention and unembedding weights in place for inference (``inference_layout``: values
        unchanged)."""
        self.hash = weights_hash or model_hash(model)
        self.model = inference_layout(model)
        self.name = name
        self.probes = probes
        self.probe_report = probe_report
        self.probe_error = probe_error
        self.card = card
        self.folder: Path | None = None  # where its probes, reports and findings live
        self.lock = CountedLock()
        self._hook_free = None  # a second copy of the model for heavy hook-free forwards (``hook_free_model``)
        self.n_layers = model.cfg.n_layers
        self.device = str(next(model.parameters()).device)
        # line -> (its Analysis, the key/value cache of its tokens): a line one move longer runs one token
        self._prefixes: OrderedDict[tuple[int, ...], tuple[Analysis, object]] = OrderedDict()
        self.extended = 0  # analyses computed from a kept prefix (for tests and benches)

    @classmethod
    def load(cls, source: str = "bundled", device: str | None = None,
             probe_dir: Path | str | None = None) -> "ModelService":
        model = load_model(source, device=device)
        folder = Path(probe_dir) if probe_dir else artifact_folder(source)
        probes = report = card = error = None
        digest = model_hash(model)
        try:
            probes = load_probes(folder, model_hash=digest)
            if (folder / REPORT_FILE).exists():
                report = json.loads((folder / REPORT_FILE).read_text())
        except Exception as err:  # no probes, or probes of another model: pages say so
            error = str(err)
        if (folder / "model_card.md").exists():
            card = (folder / "model_card.md").read_text()
        service = cls(model, source, probes, report, card, error, weights_hash=digest)
        service.folder = folder
        return service

    @property
    def info(self) -> dict:
        cfg = self.model.cfg
        return {"name": self.name, "hash": self.hash, "device": self.device,
                "weights": getattr(self.model, "weights_status", "built in memory"),
                "unverified": getattr(self.model, "weights_status", None) == UNVERIFIED,
                "parameters": n_parameters(self.model), "n_layers": cfg.n_layers,
                "d_model": cfg.d_model, "n_heads": cfg.n_heads, "probes": self.probes is not None}

    @contextmanager
    def locked(self):
        with self.lock:
            yield self.model

    @contextmanager
    def hooked(self, fwd_hooks=()):
        """The model under the lock with ``fwd_hooks`` added; they are removed when the block ends."""
        with self.lock:
            try:
                for name, fn in fwd_hooks:
                    self.model.add_hook(name, fn)
                yield self.model
            finally:
                if fwd_hooks:
                    self.model.reset_hooks(including_permanent=False)

    @torch.inference_mode()
    def run(self, tokens: torch.Tensor, names: list[str] | None = None, fwd_hooks=(), kv=None):
        """One forward under the lock; hooks (if any) are removed before it returns. ``kv``: a key/value cache
        (``key_value_cache``) of the tokens before these, which the forward reads and extends."""
        tokens = tokens.to(self.device)
        extra = {} if kv is None else {  # no padding: every token is real
            "past_kv_cache": kv, "attention_mask": torch.ones(tokens.shape, dtype=torch.long, device=self.device)}
        with self.hooked(fwd_hooks) as model:
            if names:
                wanted = set(names)
                logits, cache = model.run_with_cache(tokens, names_filter=wanted.__contains__, **extra)
                return logits, {n: cache[n] for n in names}
            return model(tokens, **extra), {}

    def kept_prefix(self, moves, length: int):
        """The keys and values of the first ``length`` moves of ``moves``, read-only (``frozen_prefix``), if a line
        kept for extension (``analyze``) starts with them; else None. A forward given them runs the later tokens
        alone."""
        wanted = tuple(int(m) for m in moves[:length])
        with self.lock:
            for line, (_, kv) in reversed(self._prefixes.items()):
                if len(wanted) == length <= min(len(line), MODEL_CONTEXT) and line[:length] == wanted:
                    return frozen_prefix([e.past_keys[:, :length] for e in kv.entries],
                                         [e.past_values[:, :length] for e in kv.entries])
        return None

    def hook_free_model(self):
        """A second copy of the model that no hook is ever added to, for heavy work made of hook-free forwards
        (activation patching): they run without the lock, so a click never waits behind them (``python -m
        bench.bench_patching --beside 8``), and from two threads at once (``cores.run_all``: a forward changes
        nothing in the model). Made on first use (one more set of weights), under the lock, not counted as a
        visitor's call."""
        if self._hook_free is None:
            with self.lock.uncounted(), self.lock:
                if self._hook_free is None:
                    model = copy.deepcopy(self.model)
                    model.reset_hooks(including_permanent=True)
                    self._hook_free = model
        return self._hook_free

    def spare_core(self) -> SpareCore | None:
        """Whether a heavy job may take a second core now: one is free and no visitor is calling this model
        (``cores.SpareCore``, reading this service's count of model calls). None where torch already runs more
        than one thread an op (``OTHELLO_TORCH_THREADS``): the job's thread shares the cores already."""
        return SpareCore(lambda: self.lock.uses) if torch.get_num_threads() == 1 else None

    @torch.inference_mode()
    def run_from_to_last(self, block: int, resid: torch.Tensor, prefix=None) -> torch.Tensor:
        """The logits at ``resid``'s last position alone (``[batch, d_vocab]``) of the model run from block ``block``
        on, given the stream entering it (``[batch, pos, d_model]``, as ``blocks.{block}.hook_resid_pre``): one
        forward of the ``hook_free_model``, without the lock. ``prefix``: the keys and values of the positions before
        ``resid``'s first (``frozen_prefix``), read, not changed (``resid`` then holds the later positions alone, their
        position embeddings included). The last block computes only the keys and values of the other positions
        (``last_position_logits``): for a metric read at one position."""
        return last_position_logits(self.hook_free_model(), resid.to(self.device), block, prefix)

    @torch.inference_mode()
    def block_mlp(self, layer: int, resid_mid: torch.Tensor) -> torch.Tensor:
        """Block ``layer``'s MLP output (``hook_mlp_out``) for the stream ``resid_mid`` (``[..., d_model]``, as
        ``blocks.{layer}.hook_resid_mid``): the ``hook_free_model``'s, without the lock."""
        block = self.hook_free_model().blocks[layer]
        return block.apply_mlp(block.ln2(resid_mid.to(self.device)))

    def analyze(self, moves: tuple[int, ...]) -> Analysis:
        """Predictions, labels, probe reconstructions and attention for every position.

        A line one move longer than one analysed recently (the click that plays a move) runs the new token
        alone, reading the earlier tokens' keys and values: causal attention leaves every earlier position's
        activations as they were, so the result is the whole forward's to float rounding (probabilities and attention
        within 2e-5, streams within 2e-4: ``tests/test_service.py``)."""
        moves = tuple(int(m) for m in moves)
        if not moves:
            raise ValueError("the model needs at least one move: it predicts from move 1 on")
        labels = game_labels(moves)  # raises MoveError on an illegal sequence
        n = min(len(moves), MODEL_CONTEXT)
        tokens = torch.tensor([moves_to_tokens(moves, n)])
        hooks = stream_hooks(self.n_layers)
        pattern_names = [attn_pattern(l) for l in range(self.n_layers)]
        with self.lock:
            prefix = self._prefixes.get(moves[:-1]) if len(moves) == n else None
            kv = fork_cache(prefix[1]) if prefix else key_value_cache(self.model)
            self.extended += bool(prefix)
            new = tokens[:, n - 1:] if prefix else tokens  # [1, new positions]
            logits, cache = self.run(new, names=hooks + pattern_names, kv=kv)
        probs = token_probs_to_squares(move_log_probs(logits[0]).exp().cpu().numpy())  # [new, 64]
        resid = torch.stack([cache[h][0] for h in hooks]).float().cpu().numpy()  # [streams, new, d]
        patterns = torch.stack([cache[h][0] for h in pattern_names]).float().cpu().numpy()  # [L, H, new, n]
        if prefix:
            before = prefix[0]
            probs = np.concatenate([before.move_probs, probs])
            resid = np.concatenate([before.resid, resid], axis=1)
            earlier = np.pad(before.patterns, [(0, 0), (0, 0), (0, 0), (0, 1)])  # no position attends ahead
            patterns = np.concatenate([earlier, patterns], axis=2)
        lab = {k: v[:n] for k, v in labels.items()}
        analysis = Analysis(
            moves=moves, model_name=self.name, move_probs=probs, legal=lab["legal"], board=lab["board"],
            relative=lab["relative"], flipped=lab["flipped"], to_move=lab["to_move"],
            patterns=patterns, resid=resid)
        if len(moves) == n:
            with self.lock:
                self._prefixes[moves] = (analysis, kv)
                self._prefixes.move_to_end(moves)
                while len(self._prefixes) > PREFIXES_KEPT:
                    self._prefixes.popitem(last=False)
        return analysis

    def probe_position(self, analysis: Analysis, position: int) -> dict:
        """Every probe's reconstruction of one position at every layer:
        ``{(method, kind, width): [streams, 64, classes]}`` (method "linear" has width 0)."""
        if self.probes is None:
            return {}
        resid = torch.as_tensor(analysis.resid[:, position:position + 1])  # [streams, 1, d]
        out = {}
        for kind in KINDS:
            if kind in self.probes.linear:
                out[("linear", kind, 0)] = self.probes.linear_probs(kind, resid)[:, 0].numpy()
        for (kind, width) in sorted(self.probes.mlp):
            if kind in MLP_KINDS:
                out[("mlp", kind, width)] = self.probes.mlp_probs(kind, width, resid)[:, 0].numpy()
        return out

