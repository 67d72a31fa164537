"""Where a logit comes from: direct logit attribution, logit lens, edit diffs, patching.

Direct logit attribution (DLA). The final residual stream is a sum of component outputs:
token and position embeddings, every head (``z_h @ W_O[h]``), each layer's attention bias
``b_O`` and every MLP (itself a sum over neurons ``post_n * W_out[n]`` plus ``b_out``). The
model reads it through LNPre (centre, then divide by the scale) and the unembedding. Freezing
the scale at its value in the run (the usual approximation: it is exact for that run, but the
scale itself depends on every component), the logit of move ``t`` splits exactly into

    logit_t = sum_c (out_c - mean(out_c)) / scale . W_U[:, t] + b_U[t]

so the contributions add up to the logit (``tests/test_attribution.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from othello_core.analysis.cores import run_all
from othello_core.analysis.interventions import edit_hook, apply_edit, rows_for_game
from othello_core.model.evaluate import move_log_probs
from othello_core.model.hooked_transformer import frozen_prefix
from othello_core.rules.board import replay
from othello_core.rules.games import game_labels
from othello_core.rules.hooks import (BLOCK_OUTPUTS, attn_k, attn_out, attn_v, attn_z, mlp_out, mlp_post, resid_mid,
                                       resid_post, resid_pre, stream_hooks)
from othello_core.rules.notation import MODEL_CONTEXT, MoveError, SQUARE_TO_TOKEN, square_to_name
from othello_core.rules.vocab import moves_to_tokens, token_probs_to_squares


def _tokens(moves) -> torch.Tensor:
    return torch.tensor([moves_to_tokens(moves)])


def _component_names(n_layers: int, n_heads: int) -> list[str]:
    names = ["embed", "pos_embed"]
    for layer in range(n_layers):
        names += [f"L{layer}H{h}" for h in range(n_heads)] + [f"L{layer} attn bias", f"L{layer} MLP"]
    return names


def _cache_names(n_layers: int) -> list[str]:
    names = ["hook_embed", "hook_pos_embed", "ln_final.hook_scale"]
    for layer in range(n_layers):
        names += [attn_z(layer), mlp_out(layer), mlp_post(layer)]
    return names


@dataclass
class Components:
    """Component outputs ``[C, d_model]`` at one position, with neurons and the final scale."""

    names: list[str]
    outputs: torch.Tensor  # [C, d]
    neurons: torch.Tensor  # [layers, d_mlp] post-GELU activations
    scale: torch.Tensor  # scalar, ln_final scale
    logits: torch.Tensor  # [61]


@torch.inference_mode()
def components_from_cache(model, cache: dict, position: int, row: int = 0) -> Components:
    cfg = model.cfg
    outs = [cache["hook_embed"][row, position], cache["hook_pos_embed"][row, position]]
    neurons = []
    for layer in range(cfg.n_layers):
        z = cache[attn_z(layer)][row, position]  # [heads, d_head]
        heads = torch.einsum("he,hed->hd", z, model.blocks[layer].attn.W_O)
        outs += list(heads) + [model.blocks[layer].attn.b_O, cache[mlp_out(layer)][row, position]]
        neurons.append(cache[mlp_post(layer)][row, position])
    return Components(_component_names(cfg.n_layers, cfg.n_heads), torch.stack(outs).float(),
                      torch.stack(neurons).float(), cache["ln_final.hook_scale"][row, position, 0].float(), None)


def components(service, moves, position: int) -> Components:
    logits, cache = service.run(_tokens(moves), names=_cache_names(service.n_layers))
    comp = components_from_cache(service.model, cache, position)
    comp.logits = logits[0, position].float()
    return comp


@torch.inference_mode()
def direct_logit_attribution(service, comp: Components, square: int) -> dict:
    """Per-component and per-neuron contributions to the logit of the move ``square``."""
    model = service.model
    t = SQUARE_TO_TOKEN[square]
    u = model.W_U[:, t].float()
    # The final LayerNorm centres each output over d_model; centring the unembedding column
    # instead is the same dot product (sum (x - mean x) u = sum x (u - mean u)) and spares
    # centring the [layers, d_mlp, d_model] output weights.
    u = u - u.mean()
    contrib = (comp.outputs @ u) / comp.scale  # [C]
    neuron = comp.neurons * torch.stack([b.mlp.W_out.float() @ u for b in model.blocks]) / comp.scale  # [L, d_mlp]
    return {"names": comp.names, "contributions": contrib.cpu().numpy(),
            "bias": float(model.b_U[t]), "logit": float(comp.logits[t]) if comp.logits is not None else None,
            "neurons": neuron.cpu().numpy()}


def top_neurons(neuron_contrib: np.ndarray, k: int = 10) -> list[tuple[int, int, float]]:
    """(layer, neuron, contribution) with the largest |contribution|."""
    flat = np.argsort(-np.abs(neuron_contrib).ravel())[:k]
    return [(int(i // neuron_contrib.shape[1]), int(i % neuron_contrib.shape[1]),
             float(neuron_contrib.ravel()[i])) for i in flat]


def logit_lens(service, analysis) -> np.ndarray:
    """Move probabilities read off every residual stream: ``[streams, pos, 64]``."""
    model = service.model
    resid = torch.as_tensor(analysis.resid)  # [streams, pos, d]
    with torch.inference_mode():
        x = resid - resid.mean(-1, keepdim=True)
        x = x / (x.pow(2).mean(-1, keepdim=True) + model.cfg.eps).sqrt()
        logits = x @ model.W_U.float().cpu() + model.b_U.float().cpu()
    return token_probs_to_squares(move_log_probs(logits).exp().numpy())


# ------------------------------------------------------------------ edits: where the change comes from

def legality_readout(gained, lost, n_tokens: int) -> torch.Tensor:
    """Weights over the ``n_tokens`` logits that read the mean logit of the squares ``gained`` minus that of the
    squares ``lost`` (the edits' measure: the moves an edit makes legal against those it makes illegal)."""
    weights = torch.zeros(n_tokens)
    for squares, sign in ((gained, 1.0), (lost, -1.0)):
        if len(squares):
            weights[[SQUARE_TO_TOKEN[int(s)] for s in squares]] = sign / len(squares)
    return weights


@torch.inference_mode()
def edit_diff(service, moves, position: int, edit) -> dict:
    """Decompose the logit change of an edit over components, and test for composition.

    The metric is the mean logit change of moves that became legal minus that of moves that
    became illegal (read at ``position``). ``dla`` splits the change over the edit's own direct
    path and every later head/MLP with the final LayerNorm scale frozen at the edited run's; it
    sums exactly to ``total_at_edited_scale``, which differs from the true ``total`` only
    through the change of that scale. ``composition``
    re-runs the edited model with every later attention and MLP output frozen to its clean
    value (what remains is the direct effect), then lets one component respond at a time.
    """
    result = apply_edit(service, moves, position, edit)
    gained = np.flatnonzero(result.legal_after & ~result.legal_before)
    lost = np.flatnonzero(result.legal_before & ~result.legal_after)
    direction = legality_readout(gained, lost, service.model.cfg.d_vocab).to(service.model.W_U.device)

    def metric(logits: torch.Tensor) -> float:
        return float(logits.float() @ direction)

    rows = rows_for_game(moves, position, edit.squares)
    names = stream_hooks(service.n_layers)
    first = min(edit.layers)
    gen = torch.Generator().manual_seed(0)
    edit_hooks = [(names[s], edit_hook(edit, service.probes, s, rows, gen)) for s in edit.layers]
    cache_names = _cache_names(service.n_layers) + [names[s] for s in range(service.n_layers + 1)]
    cache_names += [attn_out(l) for l in range(service.n_layers)]
    clean_logits, clean = service.run(rows.tokens, names=cache_names)
    edited_logits, edited = service.run(rows.tokens, names=cache_names, fwd_hooks=edit_hooks)
    total = metric(edited_logits[0, position]) - metric(clean_logits[0, position])

    c_clean = components_from_cache(service.model, clean, position)
    c_edit = components_from_cache(service.model, edited, position)
    readout = service.model.W_U.float() @ direction  # [d]
    delta = c_edit.outputs - c_clean.outputs
    delta = delta - delta.mean(-1, keepdim=True)
    per_component = (delta @ readout) / c_edit.scale
    # the edit's own direct path: what the edit added to the streams, read straight out
    injected = (edited[names[service.n_layers]][0, position] - clean[names[service.n_layers]][0, position]).float()
    injected = injected - delta.sum(0)  # the part of the final change no component wrote
    injected = injected - injected.mean()
    direct = float(injected @ readout / c_edit.scale)
    final_change = (edited[names[service.n_layers]][0, position] - clean[names[service.n_layers]][0, position]).float()
    total_frozen = float((final_change - final_change.mean()) @ readout / c_edit.scale)
    dla = {"direct path (the edit itself)": direct}
    for name, value in zip(c_clean.names, per_component.tolist()):
        if abs(value) > 1e-9:
            dla[name] = value

    # composition: freeze later components to their clean outputs
    later = [l for l in range(service.n_layers) if l >= first]
    def frozen_run(free: set[str]) -> float:
        hooks = list(edit_hooks)
        for l in later:
            for hook in (attn_out, mlp_out):
                name = hook(l)
                if name in free:
                    continue
                saved = clean[name]
                hooks.append((name, lambda act, hook, saved=saved: saved.to(act.dtype)))
        logits, _ = service.run(rows.tokens, fwd_hooks=hooks)
        return metric(logits[0, position]) - metric(clean_logits[0, position])

    direct_only = frozen_run(set())
    through = {}
    for l in later:
        for hook, label in ((attn_out, "attn"), (mlp_out, "MLP")):
            through[f"L{l} {label}"] = frozen_run({hook(l)}) - direct_only
    return {"total": total, "total_at_edited_scale": total_frozen, "gained": [int(s) for s in gained], "lost": [int(s) for s in lost],
            "dla": dla, "direct_only": direct_only, "through_one_component": through,
            "sum_of_single_components": float(sum(through.values())), "result": result}


def summarize_edit_diff(diff: dict, top: int = 3) -> str:
    """One sentence: how much of the change is direct, and which components carry the rest."""
    total = diff["total"]
    if abs(total) < 1e-6:
        return "The edit does not move the logits of the moves whose legality it changes."
    direct = diff["direct_only"] / total
    ranked = sorted(diff["through_one_component"].items(), key=lambda kv: -abs(kv[1]))[:top]
    carried = ", ".join(f"{name} ({value / total:.0%})" for name, value in ranked)
    interaction = 1 - (diff["direct_only"] + diff["sum_of_single_components"]) / total
    return (f"{direct:.0%} of the logit change is the edit's direct effect (later components frozen); "
            f"the components that carry most of the rest are {carried}; "
            f"{interaction:.0%} is left to interactions between components (composition).")


# ------------------------------------------------------------------ activation patching

def corrupt_one_move(moves, index: int) -> tuple[int, ...] | None:
    """The clean game with move ``index`` replaced by another legal move such that every later
    move stays legal (None if there is no such move)."""
    moves = tuple(moves)
    prefix = replay(moves[:index])
    for alt in prefix.board.legal_moves():
        if alt == moves[index]:
            continue
        candidate = moves[:index] + (alt,) + moves[index + 1:]
        try:
            replay(candidate)
        except MoveError:
            continue
        return candidate
    return None


# Patched positions a forward: fewer forwards against shorter sequences (``bench/bench_patching.py --group``).
PATCH_GROUP = 4


@torch.inference_mode()
def activation_patching(service, clean_moves, corrupt_moves, position: int | None = None,
                        progress=None, group: int = PATCH_GROUP, spare=None) -> dict:
    """Patch clean activations into the corrupted run, one (layer, position) at a time.

    Metric at ``position`` (default: the last): mean logit of moves legal only in the clean game
    minus mean logit of moves legal only in the corrupted game. Returns raw metric changes
    ``[layers, positions]`` for resid_pre / attn_out / mlp_out and the normalised recovery
    ``(patched - corrupted) / (clean - corrupted)`` where the denominator is not ~0.

    The model is causal, so a patch at position p leaves every position before p as the corrupted run has it:
    before the first differing move the two runs are the same (the effect is exactly 0), after ``position`` a patch
    cannot reach the metric (0 too), and the embedding of a move both games share is the same (0). A patch of
    ``attn_out`` or ``mlp_out`` in layer L changes layer L's output at p alone, so its row starts at layer L + 1
    from the corrupted stream with position p's value put in (that layer's MLP run on the one position, for
    ``attn_out``); a ``resid_pre`` row starts at its layer. A forward runs the rows that start at one layer for
    ``group`` consecutive positions from p0 on and computes positions p0 .. ``position`` alone, reading the earlier
    positions as the corrupted run's keys and values: about 0.4 of running every row over the whole line from its
    layer. The forwards run on the service's hook-free copy of the model, without the lock a click waits for, and
    a second thread takes the next one while ``spare()`` says a core is free (``cores.run_all``; the cells are the
    same either way). ``progress(done, total)`` is called after each forward.
    """
    clean_moves, corrupt_moves = tuple(clean_moves), tuple(corrupt_moves)
    assert len(clean_moves) == len(corrupt_moves), "clean and corrupted games need the same length"
    n = min(len(clean_moves), MODEL_CONTEXT)
    position = n - 1 if position is None else position
    legal_clean = game_labels(clean_moves)["legal"][position]
    legal_corrupt = game_labels(corrupt_moves)["legal"][position]
    direction = legality_readout(np.flatnonzero(legal_clean & ~legal_corrupt),
                                 np.flatnonzero(legal_corrupt & ~legal_clean), service.model.cfg.d_vocab)

    def metric(logits):  # logits [B, 61]
        return logits.float() @ direction.to(logits.device)

    layers = service.n_layers
    kinds = BLOCK_OUTPUTS  # resid_pre, attn_out, mlp_out
    clean_logits, clean = service.run(_tokens(clean_moves), names=[h(l) for h in kinds.values() for l in range(layers)])
    keys, values = [attn_k(l) for l in range(layers)], [attn_v(l) for l in range(layers)]
    corrupt_logits, corrupt = service.run(_tokens(corrupt_moves), names=[resid_pre(l) for l in range(layers)] + [
        resid_mid(l) for l in range(layers)] + [resid_post(layers - 1)] + keys + values)
    m_clean = float(metric(clean_logits[:, position])[0])
    m_corrupt = float(metric(corrupt_logits[:, position])[0])
    effects = {kind: np.zeros((layers, n)) for kind in kinds}
    first = next((i for i in range(n) if clean_moves[i] != corrupt_moves[i]), n)
    end = position + 1
    if first >= end:  # the runs are the same up to the metric's move: every patch is a no-op
        return _patching_result(m_clean, m_corrupt, position, effects)

    def block_output(layer: int, kind: str, where: list[int]) -> torch.Tensor:
        """[len(where), d_model] layer's output (the stream after it) at ``where`` with ``kind`` patched there."""
        if kind == "mlp_out":  # resid_post = resid_mid + mlp_out
            return corrupt[resid_mid(layer)][0, where] + clean[mlp_out(layer)][0, where]
        mid = corrupt[resid_pre(layer)][0, where] + clean[attn_out(layer)][0, where]  # resid_mid = resid_pre + attn_out
        return mid + service.block_mlp(layer, mid[None])[0]

    def rows_from(start_layer: int, where: list[int]) -> list[tuple[str, int, int, torch.Tensor]]:
        """(kind, layer, position, the stream entering ``start_layer`` at that position) of each row that starts
        there, patched at a position in ``where``."""
        rows = []
        if start_layer < layers:
            patched = [p for p in where if start_layer or clean_moves[p] != corrupt_moves[p]]  # same move: same embedding
            rows += [("resid_pre", start_layer, p, v) for p, v in zip(patched, clean[resid_pre(start_layer)][0, patched])]
        if start_layer:
            if start_layer == layers:  # past the last layer a position reaches no other: only the metric's counts
                where = [p for p in where if p == position]
            for kind in ("attn_out", "mlp_out"):
                if where:
                    outputs = block_output(start_layer - 1, kind, where)
                    rows += [(kind, start_layer - 1, p, v) for p, v in zip(where, outputs)]
        return rows

    @torch.inference_mode()  # a second thread does not inherit the mode
    def patch(task: tuple[int, int]) -> None:
        """One forward: the rows that start at ``start_layer``, patched at ``p0`` .. ``p0 + group - 1``."""
        start_layer, p0 = task
        rows = rows_from(start_layer, list(range(p0, min(p0 + group, end))))
        if not rows:
            return
        stream = corrupt[resid_pre(start_layer) if start_layer < layers else resid_post(layers - 1)][0]
        resid = stream[p0:end].repeat(len(rows), 1, 1)  # [rows, positions p0.., d_model]
        for r, (_, _, p, value) in enumerate(rows):
            resid[r, p - p0] = value
        prefix = frozen_prefix([corrupt[h][:, :p0].expand(len(rows), -1, -1, -1) for h in keys],
                               [corrupt[h][:, :p0].expand(len(rows), -1, -1, -1) for h in values])
        change = metric(service.run_from_to_last(start_layer, resid, prefix=prefix)) - m_corrupt  # at position
        for (kind, layer, p, _), value in zip(rows, change.cpu().numpy()):
            effects[kind][layer, p] = value  # each cell written by one forward alone

    # the longest forwards first, so that two threads finish together: a forward's cost is about the layers it
    # runs (layers - start_layer, the last one partly: + 0.5) times the positions it computes (end - p0)
    tasks = sorted(((start_layer, p0) for start_layer in range(layers + 1) for p0 in range(first, end, group)),
                   key=lambda task: -(layers - task[0] + 0.5) * (end - task[1]))
    run_all(patch, tasks, spare=spare, progress=progress)
    return _patching_result(m_clean, m_corrupt, position, effects)


def _patching_result(m_clean: float, m_corrupt: float, position: int, effects: dict) -> dict:
    denom = m_clean - m_corrupt
    return {"clean_metric": m_clean, "corrupted_metric": m_corrupt, "position": position,
            "effects": effects,
            "recovered": {k: (v / denom if abs(denom) > 1e-6 else np.full_like(v, np.nan)) for k, v in effects.items()}}


# ------------------------------------------------------------------ neurons

@torch.inference_mode()
def neuron_profile(service, layer: int, neuron: int) -> dict:
    """A neuron's input weights read in the probe bases of the stream it reads (the residual
    stream entering block ``layer``), and its output weights through the unembedding.

    ``reads_blank[64]``: cosine of W_in[:, n] with each square's blank direction (empty minus the
    mean of mine and theirs); ``reads_mine[64]``: with the mine-minus-theirs direction;
    ``promotes[64]``: W_out[n] (centred) @ W_U per square (centre squares 0).
    """
    model = service.model
    w_in = model.blocks[layer].mlp.W_in[:, neuron].float().cpu()
    w_out = model.blocks[layer].mlp.W_out[neuron].float().cpu()
    out = {"layer": layer, "neuron": neuron}
    if service.probes is not None and "mine_theirs" in service.probes.linear:
        w = service.probes.linear["mine_theirs"][0][layer]  # [d, 64, 3] stream `layer` = block input
        blank = w[:, :, 0] - (w[:, :, 1] + w[:, :, 2]) / 2
        mine = w[:, :, 1] - w[:, :, 2]
        cos = lambda m: ((w_in @ m) / (w_in.norm() * m.norm(dim=0)).clamp(min=1e-8)).numpy()  # noqa: E731
        out["reads_blank"], out["reads_mine"] = cos(blank), cos(mine)
    logits = (w_out - w_out.mean()) @ model.W_U.float().cpu()
    out["promotes"] = token_probs_to_squares(logits.numpy()[None])[0]
    out["promotes"][[27, 28, 35, 36]] = 0.0
    return out


def neuron_hypothesis(profile: dict) -> str:
    """A one-line reading of a neuron from its weights (a hypothesis to check, not a finding)."""
    parts = []
    if "reads_blank" in profile:
        blank, mine = profile["reads_blank"], profile["reads_mine"]
        b = int(np.argmax(np.abs(blank)))
        m = int(np.argmax(np.abs(mine)))
        parts.append(f"reads {square_to_name(b)} {'blank' if blank[b] > 0 else 'occupied'} (cos {blank[b]:+.2f})")
        parts.append(f"{square_to_name(m)} {'mine' if mine[m] > 0 else 'theirs'} (cos {mine[m]:+.2f})")
    promotes = profile["promotes"]
    up, down = int(np.argmax(promotes)), int(np.argmin(promotes))
    parts.append(f"promotes {square_to_name(up)} ({promotes[up]:+.2f}), suppresses {square_to_name(down)} "
                 f"({promotes[down]:+.2f})")
    return f"L{profile['layer']}N{profile['neuron']}: " + "; ".join(parts)


def neuron_activations(service, moves, layer: int) -> np.ndarray:
    """Post-GELU activations of every neuron of ``layer`` along the game: ``[pos, d_mlp]``."""
    name = mlp_post(layer)
    _, cache = service.run(_tokens(moves), names=[name])
    return cache[name][0].float().cpu().numpy()
