"""Edit the model's board representation and see what it predicts.

An ``Edit`` names squares, what to make them (``flip`` mine<->theirs, ``blank``, ``mine``,
``theirs``), the residual streams to edit (stream indices as in ``hooks``: stream ``s`` is *after L{s-1}*,
``blocks.{s-1}.hook_resid_post``; 0 = embed; like the probes), the positions (``last`` or ``all``) and the method:

* ``add``: ``x += scale * |x| * d`` with ``d`` the unit vector from the square's current class
  to the target class of the linear mine/theirs probe at that stream (``scale`` is a
  fraction of the residual norm; 0 is no edit);
* ``set``: set the coordinate along ``d`` to ``scale * |x|`` (a constant target magnitude);
* ``gradient`` (Li et al.): optimise ``delta`` so the MLP probe at that stream reads the
  edited board, with an L2 regulariser ``reg * |delta|^2 / |x|^2``; ``steps``/``lr``.

Ground truth is the edited board itself: its legal moves for the player to move come from the
exact rules. Two error counts over the top-N predictions (N = number of legal moves on the
edited board): ``errors_nanda`` = false positives + false negatives, ``errors_li`` = false
positives only (Li et al.'s "number of errors"). Success = ``errors_nanda == 0``.

Everything runs through ``ModelService.run`` (one lock, hooks always removed). Positions are
batched: every row is a whole game's first 59 tokens with its own position ``p``; causal
attention means tokens after ``p`` never affect the prediction read at ``p``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from othello_core.model.evaluate import move_log_probs
from othello_core.rules.board import BLACK, Board
from othello_core.rules.games import game_labels, load_eothello, random_games, replay_batch
from othello_core.rules.hooks import stream_hooks, stream_label
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import moves_to_tokens, token_probs_to_squares

TARGETS = ("flip", "blank", "mine", "theirs")
METHODS = ("add", "set", "gradient")
EMPTY, MINE, THEIRS = 0, 1, 2


@dataclass(frozen=True)
class Edit:
    squares: tuple[int, ...]
    target: str = "flip"
    layers: tuple[int, ...] = (4,)
    positions: str = "last"
    method: str = "add"
    scale: float = 1.0
    steps: int = 30
    lr: float = 0.1
    reg: float = 0.01
    direction: str = "probe"  # "probe" or "random" (a control of the same norm)

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if self.positions not in ("last", "all"):
            raise ValueError("positions must be 'last' or 'all'")


def edited_classes(relative: np.ndarray, squares, target: str) -> np.ndarray:
    """The mine/theirs/empty board ``[64]`` after the edit (flip swaps mine and theirs)."""
    out = relative.copy()
    for sq in squares:
        if target == "flip":
            out[sq] = {EMPTY: EMPTY, MINE: THEIRS, THEIRS: MINE}[int(relative[sq])]
        else:
            out[sq] = {"blank": EMPTY, "mine": MINE, "theirs": THEIRS}[target]
    return out


def legal_mask_of(relative: np.ndarray, to_move: int) -> np.ndarray:
    """True legal moves ``[64]`` of a mine/theirs board for the player to move (colour ``to_move``)."""
    mine = sum(1 << int(s) for s in np.flatnonzero(relative == MINE))
    theirs = sum(1 << int(s) for s in np.flatnonzero(relative == THEIRS))
    black, white = (mine, theirs) if to_move == BLACK else (theirs, mine)
    legal = Board(black, white, to_move).legal_mask()
    return np.array([bool(legal >> s & 1) for s in range(64)])


def error_counts(probs: np.ndarray, legal: np.ndarray) -> tuple[int, int]:
    """(Nanda: FP + FN, Li: FP) of the top-N predictions, N = number of legal moves."""
    n = int(legal.sum())
    predicted = np.zeros(64, bool)
    predicted[np.argsort(-probs)[:n]] = True
    fp = int((predicted & ~legal).sum())
    fn = int((legal & ~predicted).sum())
    return fp + fn, fp


@dataclass
class EditRows:
    """A batch of positions to edit: row ``b`` edits ``squares[b]`` at position ``pos[b]``."""

    tokens: torch.Tensor  # [B, 59]
    pos: np.ndarray  # [B]
    relative: np.ndarray  # [B, 60, 64] mine/theirs/empty labels per position
    to_move: np.ndarray  # [B, 60]
    squares: list[tuple[int, ...]]

    def take(self, index: np.ndarray) -> "EditRows":
        """These rows only, their tokens cut after the last position any of them reads
        (causal attention: later tokens cannot change earlier logits)."""
        length = int(self.pos[index].max()) + 1
        return EditRows(self.tokens[index, :length], self.pos[index], self.relative[index],
                        self.to_move[index], [self.squares[i] for i in index])


def _direction_vectors(probes, stream: int, squares: np.ndarray, src: np.ndarray, dst: np.ndarray,
                       random: bool, gen: torch.Generator) -> torch.Tensor:
    """Unit directions ``[n, d]`` from class ``src`` to ``dst`` of each square's linear probe."""
    w, _ = probes.linear["mine_theirs"]
    vec = w[stream][:, squares, dst].T - w[stream][:, squares, src].T  # [n, d]
    if random:
        vec = torch.randn(vec.shape, generator=gen)
    return vec / vec.norm(dim=-1, keepdim=True).clamp(min=1e-8)


def edit_hook(edit: Edit, probes, stream: int, rows: EditRows, gen: torch.Generator, first: int = 0):
    """The hook editing one stream for every row of the batch; ``first``: the game position of the forward's first
    token (a forward of the later tokens alone, the earlier ones read from a key/value cache)."""

    def hook(resid, hook):  # resid [B, pos, d]
        resid = resid.clone()
        for b in range(len(rows.pos)):
            p = int(rows.pos[b])
            positions = [p] if edit.positions == "last" else list(range(p + 1))
            for q in positions:
                if q < first:
                    raise ValueError(f"position {q} is before the forward's first token ({first}): it is in the cache")
                before = rows.relative[b, q]
                after = edited_classes(before, rows.squares[b], edit.target)
                changed = [s for s in rows.squares[b] if after[s] != before[s]]
                if not changed:
                    continue
                x = resid[b, q - first]
                if edit.method == "gradient":
                    resid[b, q - first] = _gradient_edit(x, probes, stream, after, edit)
                    continue
                sq = np.array(changed)
                dirs = _direction_vectors(probes, stream, sq, before[sq], after[sq],
                                          edit.direction == "random", gen).to(x)
                norm = x.norm()
                for d in dirs:
                    if edit.method == "add":
                        x = x + edit.scale * norm * d
                    else:
                        x = x + (edit.scale * norm - x @ d) * d
                resid[b, q - first] = x
        return resid

    return hook


def _gradient_edit(x: torch.Tensor, probes, stream: int, target: np.ndarray, edit: Edit) -> torch.Tensor:
    """Li et al.: move ``x`` until the MLP probe reads ``target`` (regularised)."""
    widths = sorted(w for (k, w) in probes.mlp if k == "mine_theirs")
    with torch.inference_mode(False), torch.enable_grad():  # tensors made here can carry grads
        w1, b1, w2, b2 = (t[stream].to(x.device, torch.float32) for t in probes.mlp[("mine_theirs", widths[-1])])
        goal = torch.as_tensor(target, dtype=torch.long, device=x.device)
        base = x.detach().clone().float()
        delta = torch.zeros_like(base, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=edit.lr * base.norm().item() / base.numel() ** 0.5)
        scale = base.pow(2).sum()
        for _ in range(edit.steps):
            h = torch.relu((base + delta) @ w1 + b1)
            logits = (h @ w2 + b2).reshape(64, -1)
            loss = torch.nn.functional.cross_entropy(logits, goal) + edit.reg * delta.pow(2).sum() / scale
            opt.zero_grad()
            loss.backward()
            opt.step()
        out = (base + delta).detach()
    return out.to(x.dtype)


def run_rows(service, rows: EditRows, edit: Edit | None, seed: int = 0, chunks: int = 4) -> np.ndarray:
    """Move probabilities ``[B, 64]`` at each row's position, with ``edit`` applied (or clean).

    Rows run in ``chunks`` batches of similar position, each cut after its last position:
    about half the work of running every row to the full 59 tokens."""
    names = stream_hooks(service.n_layers)
    gen = torch.Generator().manual_seed(seed)
    out = np.zeros((len(rows.pos), 64), dtype=np.float32)
    for index in np.array_split(np.argsort(rows.pos, kind="stable"), chunks):
        if not len(index):
            continue
        part = rows.take(index)
        hooks = [] if edit is None else [(names[s], edit_hook(edit, service.probes, s, part, gen))
                                         for s in edit.layers]
        logits, _ = service.run(part.tokens, fwd_hooks=hooks)
        at = logits[torch.arange(len(part.pos)), torch.as_tensor(part.pos)]
        out[index] = token_probs_to_squares(move_log_probs(at).exp().cpu().numpy())
    return out


def _run_last(service, rows: EditRows, edit: Edit | None, prefix, seed: int = 0) -> np.ndarray:
    """``run_rows`` for one row whose edit (None: clean) touches its last position only, given the keys and values
    of the positions before it (``ModelService.kept_prefix``): one token's forward. The earlier positions are the clean
    run's (causal attention), so this is the whole edited forward to float rounding (``tests/test_interventions.py``)."""
    p = int(rows.pos[0])
    gen = torch.Generator().manual_seed(seed)
    names = stream_hooks(service.n_layers)
    hooks = [] if edit is None else [(names[s], edit_hook(edit, service.probes, s, rows, gen, first=p))
                                     for s in edit.layers]
    logits, _ = service.run(rows.tokens[:1, p:p + 1], fwd_hooks=hooks, kv=prefix)
    return token_probs_to_squares(move_log_probs(logits[:, 0]).exp().cpu().numpy())[0]


def legality_changes(legal_before: np.ndarray, legal_after: np.ndarray) -> dict[str, np.ndarray]:
    """The moves an edit makes legal, makes illegal and leaves legal, as masks (any leading shape)."""
    return {"made_legal": legal_after & ~legal_before, "made_illegal": legal_before & ~legal_after,
            "kept_legal": legal_before & legal_after}


@dataclass
class EditResult:
    position: int
    squares: tuple[int, ...]
    clean_probs: np.ndarray
    edited_probs: np.ndarray
    legal_before: np.ndarray
    legal_after: np.ndarray
    board_before: np.ndarray  # mine/theirs/empty
    board_after: np.ndarray
    errors: dict = field(default_factory=dict)

    @property
    def flipped_legality(self) -> np.ndarray:
        return np.flatnonzero(self.legal_before != self.legal_after)

    def legality_mass(self) -> dict[str, dict[str, float]]:
        """Probability on the moves the edit makes legal, makes illegal and leaves legal
        (``legality_changes``), before (clean model) and after (edited model): the top-N error counts miss a
        newly legal move the edit leaves at 0.001 while the old legal moves still fill the top N."""
        return {name: {"squares": int(mask.sum()), "before": float(self.clean_probs[mask].sum()),
                       "after": float(self.edited_probs[mask].sum())}
                for name, mask in legality_changes(self.legal_before, self.legal_after).items()}


def rows_for_game(moves, position: int, squares) -> EditRows:
    labels = game_labels(moves)
    tokens = moves_to_tokens(moves)
    tokens += [0] * (MODEL_CONTEXT - len(tokens))
    return EditRows(torch.tensor([tokens]), np.array([position]), labels["relative"][None],
                    labels["to_move"][None], [tuple(squares)])


def edited_board(moves, position: int, edit: Edit):
    """``(rows, board before, board after, legal before, legal after)`` of ``edit`` at ``position``: the rules
    alone, no model (mine/theirs/empty boards; legal-move masks ``[64]`` for the player to move)."""
    rows = rows_for_game(moves, position, edit.squares)
    to_move = int(rows.to_move[0, position])
    if to_move == 0:
        raise ValueError("the game is over at this position: there is no next move to edit")
    before = rows.relative[0, position]
    after = edited_classes(before, edit.squares, edit.target)
    return rows, before, after, legal_mask_of(before, to_move), legal_mask_of(after, to_move)


def apply_edit(service, moves, position: int, edit: Edit,
               clean_probs: np.ndarray | None = None) -> EditResult:
    """Clean vs edited predictions at one position, against before/after legal moves.

    ``clean_probs`` (the position's move probabilities from an analysis already at hand) saves
    the clean forward pass."""
    if service.probes is None:
        raise RuntimeError("edits need the model's probes: train them with "
                           "`python -m othello_core probes train`")
    rows, before, after, legal_before, legal_after = edited_board(moves, position, edit)
    # an edit of the last position alone leaves the earlier ones as they were: from a kept line, one token runs
    prefix = service.kept_prefix(moves, position) if edit.positions == "last" and position > 0 else None
    run = (lambda e: run_rows(service, rows, e)[0]) if prefix is None else (lambda e: _run_last(service, rows, e, prefix))
    clean = run(None) if clean_probs is None else np.asarray(clean_probs)
    edited = run(edit)
    nanda, li = error_counts(edited, legal_after)
    nanda0, li0 = error_counts(clean, legal_after)
    return EditResult(position, tuple(edit.squares), clean, edited, legal_before, legal_after,
                      before, after, {"edited_vs_edited_board": {"nanda": nanda, "li": li},
                                      "clean_vs_edited_board": {"nanda": nanda0, "li": li0},
                                      "clean_vs_true_board": dict(zip(("nanda", "li"), error_counts(clean, legal_before)))})


# ---------------------------------------------------------------- the minimal-edit finder

def benchmark_rows(n_synthetic: int = 100, n_real: int = 100, seed: int = 0) -> tuple[EditRows, list[str]]:
    """Positions where flipping one occupied square changes the legal moves (fixed seed)."""
    rng = np.random.default_rng(seed)
    sources = []
    if n_synthetic:
        sources.append(("synthetic", random_games(n_synthetic * 3, seed=90_000 + seed, labels=True), n_synthetic))
    if n_real:
        real = load_eothello()
        pick = rng.permutation(len(real.squares))[: n_real * 3]
        sources.append(("eothello", replay_batch(real.squares[pick], labels=True), n_real))
    tokens, pos, rel, tm, squares, origin = [], [], [], [], [], []
    for name, batch, wanted in sources:
        got = 0
        for g in rng.permutation(len(batch)):
            if got == wanted:
                break
            n = min(int(batch.lengths[g]), MODEL_CONTEXT)
            p = int(rng.integers(4, n)) if n > 4 else n - 1
            to_move = int(batch.labels["to_move"][g, p])
            if to_move == 0:
                continue
            relative = batch.labels["relative"][g, p]
            legal = legal_mask_of(relative, to_move)
            candidates = [s for s in rng.permutation(np.flatnonzero(relative != EMPTY))
                          if (legal_mask_of(edited_classes(relative, [s], "flip"), to_move) != legal).any()]
            if not candidates:
                continue
            tokens.append(batch.tokens[g, :MODEL_CONTEXT])
            pos.append(p)
            rel.append(batch.labels["relative"][g])
            tm.append(batch.labels["to_move"][g])
            squares.append((int(candidates[0]),))
            origin.append(name)
            got += 1
    return EditRows(torch.as_tensor(np.array(tokens)), np.array(pos), np.array(rel), np.array(tm),
                    squares), origin


SWEEP_SCALES = (0.25, 0.5, 1.0)


def sweep_settings(n_layers: int, scales=SWEEP_SCALES) -> list[tuple[str, Edit | None, str]]:
    """(name, edit, kind) for the sweep: every single layer at a few scales, multi-layer
    recipes in the style of both papers, and the no-edit control."""
    mid = max(1, n_layers // 2)
    settings: list[tuple[str, Edit | None, str]] = [("no edit", None, "control")]
    for layer in range(1, n_layers + 1):
        for scale in scales:
            settings.append(("", Edit((), "flip", (layer,), scale=scale), "single"))
    settings.append(("", Edit((), "flip", (n_layers - 1,), method="set", scale=0.5), "single"))
    settings.append(("", Edit((), "flip", tuple(range(mid, n_layers - 1)), scale=0.25), "multi"))
    settings.append(("", Edit((), "flip", tuple(range(mid, n_layers + 1)), method="gradient"), "multi"))
    return [(name or edit_label(edit.__dict__), edit, kind) for name, edit, kind in settings]


def edit_label(edit: dict) -> str:
    """An edit recipe's name in the layer convention, from its fields (``Edit.__dict__`` or a sweep's
    recorded ``edit``): ``after L3 add x0.25``, ``after L3–L6 gradient``.

    >>> edit_label({"layers": (4,), "method": "add", "scale": 0.25})
    'after L3 add x0.25'
    >>> edit_label({"layers": [4, 5, 6, 7, 8], "method": "gradient", "scale": 1.0})
    'after L3–L7 gradient (MLP probe, Li-style)'
    """
    layers = sorted(edit["layers"])
    if not layers:  # a multi-stream recipe a model this shallow has no streams for
        return f"no stream: {edit['method']} (the model has too few layers for this recipe)"
    where = stream_label(layers[0]) + (f"–L{layers[-1] - 1}" if len(layers) > 1 else "")
    if edit["method"] == "gradient":
        return f"{where} gradient (MLP probe, Li-style)"
    return f"{where} {edit['method']} x{edit['scale']:g}" + (" (Nanda-style, several streams)" if len(layers) > 1 else "")


def setting_label(setting: dict) -> str:
    """A sweep row's name, derived from its recorded edit (controls and the no-edit row keep theirs)."""
    if setting.get("kind") in ("single", "multi") and setting.get("edit"):
        return edit_label(setting["edit"])
    return setting["name"]


def run_sweep(service, rows: EditRows, origin: list[str], settings=None, progress=None,
              seed: int = 0) -> dict:
    """Success rate and mean errors per setting, plus controls of the best single layer."""
    settings = settings or sweep_settings(service.n_layers)
    rng = np.random.default_rng(seed)
    legal_before = np.array([legal_mask_of(rows.relative[b, p], int(rows.to_move[b, p]))
                             for b, p in enumerate(rows.pos)])
    legal_after = np.array([legal_mask_of(edited_classes(rows.relative[b, p], rows.squares[b], "flip"),
                                          int(rows.to_move[b, p])) for b, p in enumerate(rows.pos)])
    changed = legality_changes(legal_before, legal_after)
    clean = run_rows(service, rows, None, seed)

    def score(probs):
        counts = np.array([error_counts(probs[b], legal_after[b]) for b in range(len(probs))])
        mass = {k: np.stack([(clean * mask).sum(1), (probs * mask).sum(1)]) for k, mask in changed.items()}
        up, down = np.diff(mass["made_legal"], axis=0)[0] > 0, np.diff(mass["made_illegal"], axis=0)[0] < 0
        moved = (up | ~changed["made_legal"].any(1)) & (down | ~changed["made_illegal"].any(1))
        return counts[:, 0], counts[:, 1], {k: m[:, changed[k].any(1)] for k, m in mass.items()}, moved

    results = []
    jobs = list(settings)
    for name, edit, kind in (progress(jobs) if progress else jobs):
        probs = clean if edit is None else run_rows(service, rows, edit, seed)
        results.append(_row(name, kind, edit, *score(probs), origin))
    singles = [r for r in results if r["kind"] == "single"]
    best = max(singles, key=lambda r: (r["success_rate"], -r["mean_errors_nanda"]))
    best_edit = next(e for n, e, _ in settings if n == best["name"])
    random_edit = Edit(**{**asdict(best_edit), "direction": "random"})
    results.append(_row(f"control: random direction ({best['name']})", "control", random_edit,
                        *score(run_rows(service, rows, random_edit, seed)), origin))
    wrong = EditRows(rows.tokens, rows.pos, rows.relative, rows.to_move,
                     [_other_square(rows.relative[b, p], rows.squares[b], rng) for b, p in enumerate(rows.pos)])
    probs = run_rows(service, wrong, best_edit, seed)
    results.append(_row(f"control: wrong square ({best['name']})", "control", best_edit, *score(probs), origin))
    return {"positions": len(rows.pos), "sources": {s: origin.count(s) for s in sorted(set(origin))},
            "positions_with": {k: int(mask.any(1).sum()) for k, mask in changed.items()},
            "n_layers": service.n_layers, "model_hash": service.hash, "best_single_layer": best["name"],
            "settings": results}


def _other_square(relative, squares, rng) -> tuple[int, ...]:
    options = [s for s in np.flatnonzero(relative != EMPTY) if s not in squares]
    return (int(rng.choice(options)),) if options else tuple(squares)


def _row(name: str, kind: str, edit: Edit | None, nanda: np.ndarray, li: np.ndarray,
         mass: dict[str, np.ndarray], moved: np.ndarray, origin) -> dict:
    """One setting's scores. Top-N errors miss a newly legal move left at 0.001 while the old legal moves fill
    the top N, so beside them: ``mass[k]`` (``[2, B]``), the probability on the moves the intended edit makes
    legal (``made_legal``) or illegal, or leaves legal (``kept_legal``: what an edit takes from them is collateral),
    summed per position that has such moves, for the clean model (row 0) and this setting (row 1), averaged over
    those positions; and ``moved_rate``, the share of positions where the setting raised the first and lowered the
    second (a position without moves of one kind counts as moved on that side)."""
    origin = np.array(origin)
    return {"name": name, "kind": kind,
            "edit": None if edit is None else {k: v for k, v in asdict(edit).items() if k != "squares"},
            "success_rate": round(float((nanda == 0).mean()), 4),
            "mean_errors_nanda": round(float(nanda.mean()), 3),
            "mean_errors_li": round(float(li.mean()), 3),
            "success_by_source": {s: round(float((nanda[origin == s] == 0).mean()), 4)
                                  for s in sorted(set(origin))},
            "mass": {k: {"before": round(float(m[0].mean()), 4), "after": round(float(m[1].mean()), 4)}
                     for k, m in mass.items()},
            "moved_rate": round(float(moved.mean()), 4)}


def single_layer_grid(sweep: dict, method: str = "add") -> tuple[list[int], list[float], np.ndarray]:
    """The sweep's single-layer settings of one method as a grid: ``(layers, scales, success[scale, layer])``
    (NaN where a pair was not run), read from each setting's recorded edit, never from its display name."""
    singles = [r for r in sweep["settings"] if r["kind"] == "single" and r["edit"]["method"] == method]
    layers = sorted({r["edit"]["layers"][0] for r in singles})
    scales = sorted({r["edit"]["scale"] for r in singles})
    grid = np.full((len(scales), len(layers)), np.nan)
    for r in singles:
        grid[scales.index(r["edit"]["scale"]), layers.index(r["edit"]["layers"][0])] = r["success_rate"]
    return layers, scales, grid
