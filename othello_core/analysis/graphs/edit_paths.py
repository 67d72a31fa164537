"""The edit findings' composition-depth question at the feature level: does a residual-stream edit move the
model toward the edited board by itself, or through the transcoder features of the layers after it?

The measure is the component-level decomposition's (``attribution.edit_diff``): the mean logit of the moves
the flip makes legal minus that of the moves it makes illegal, at the edited position. Its direct inputs are
circuit-tracer's attribution row of that readout over every active transcoder feature, every error node and
every input move (attention patterns and LayerNorm scales frozen at the run's own values; no feature budget:
the row is one backward pass), computed twice: on the clean run and on the run with the edit's change to the
stream added by a hook (the change is measured once on the model and added as a constant). The change of the
measure is split by where its inputs sit: the blocks before the edited stream (``earlier``: they read nothing
the edit changed, and move only because the frozen attention patterns and LayerNorm scales downstream of them
are the edited run's), the blocks after it (``later``), the input moves; what no node carries is the edit's
own path (the added vector read directly or through attention) with the rescaled constant terms (biases,
position embeddings)."""

from __future__ import annotations

import numpy as np
import torch

from othello_core.rules.hooks import stream_hook
from othello_core.rules.vocab import moves_to_tokens

PARTS = ("earlier", "later", "inputs", "edit_path")
EDIT_PATHS_FILE = "edit_paths.json"  # beside the transcoders (``graphs edits``)


def _tokens(moves, position: int) -> torch.Tensor:
    return torch.tensor(moves_to_tokens(list(moves)[:position + 1]))


def stream_change(service, moves, position: int, edit) -> tuple[str, torch.Tensor]:
    """(hook, change ``[1, position + 1, d_model]``): what ``edit`` (one stream) adds to the stream it edits."""
    from othello_core.analysis.interventions import edit_hook, rows_for_game
    if len(edit.layers) != 1:
        raise ValueError("the edit-path graphs take an edit of one stream")
    stream = edit.layers[0]
    hook = stream_hook(stream)
    tokens = _tokens(moves, position)[None]
    rows = rows_for_game(moves, position, edit.squares)
    _, clean = service.run(tokens, names=[hook])
    _, edited = service.run(tokens, names=[hook],
                            fwd_hooks=[(hook, edit_hook(edit, service.probes, stream, rows,
                                                        torch.Generator().manual_seed(0)))])
    return hook, (edited[hook] - clean[hook]).float().cpu()


def readout_row(replacement, tokens: torch.Tensor, readout: torch.Tensor) -> tuple[np.ndarray, np.ndarray, int, int]:
    """circuit-tracer's attribution row of ``readout`` (a ``[d_model]`` direction read after the final LayerNorm
    at the last position, e.g. ``W_U @ weights over tokens``) over every node: ``(row, feature layers, n_layers,
    n_pos)``; the row holds every active feature (in ``activation_matrix`` order), then the error nodes
    (layer-major), then the input moves. Phases 0, 1 and 3 of ``circuit_tracer.attribute``, for one target."""
    ctx = replacement.setup_attribution(tokens)
    replacement.run_forward_pass(tokens, 1, ctx)
    n_layers, n_pos, _ = ctx.activation_matrix.shape
    feature_layers = ctx.activation_matrix.indices()[0].cpu().numpy()
    row = ctx.compute_batch(layers=torch.full((1,), n_layers), positions=torch.full((1,), n_pos - 1),
                            inject_values=readout[None].to(ctx._resid_activations[-1].dtype))[0]
    return row.float().cpu().numpy(), feature_layers, n_layers, n_pos


def logit_sources(row: np.ndarray, feature_layers: np.ndarray, n_layers: int, n_pos: int,
                  first_later_block: int) -> dict:
    """A readout row summed by where its inputs sit: ``earlier`` / ``later`` blocks (features and error nodes),
    ``inputs``, ``errors``, and ``by_block`` (a list, one sum a block)."""
    n_feat = len(feature_layers)
    errors = row[n_feat:n_feat + n_layers * n_pos].reshape(n_layers, n_pos).sum(1)
    by_block = np.zeros(n_layers)
    np.add.at(by_block, feature_layers, row[:n_feat])
    by_block += errors
    return {"earlier": float(by_block[:first_later_block].sum()), "later": float(by_block[first_later_block:].sum()),
            "inputs": float(row[n_feat + n_layers * n_pos:].sum()), "errors": float(errors.sum()),
            "by_block": by_block.tolist()}


def edit_paths(replacement, service, moves, position: int, edit) -> dict:
    """The change of the became-legal-minus-became-illegal logit under ``edit``, split into ``PARTS`` (they sum
    to it); None when the flip changes no move's legality."""
    from othello_core.analysis.attribution import legality_readout
    from othello_core.analysis.interventions import edited_board, legality_changes
    changes = legality_changes(*edited_board(moves, position, edit)[3:])  # the rules alone: no forward
    gained, lost = (np.flatnonzero(changes[k]) for k in ("made_legal", "made_illegal"))
    if not len(gained) and not len(lost):
        return None
    weights = legality_readout(gained, lost, replacement.cfg.d_vocab)
    readout = replacement.W_U.detach().float() @ weights
    hook, change = stream_change(service, moves, position, edit)

    def add_change(resid, hook):  # noqa: ARG001
        return resid + change[:, :resid.shape[1]].to(resid)

    tokens = _tokens(moves, position)
    first_later = edit.layers[0]  # stream s is written by block s - 1: blocks s and on read the edit
    hooks = {"before": [], "after": [(hook, add_change)]}
    sources, measure = {}, {}
    for run, fwd in hooks.items():
        with replacement.hooks(fwd_hooks=fwd):
            sources[run] = logit_sources(*readout_row(replacement, tokens, readout), first_later)
            with torch.no_grad():
                measure[run] = float(replacement(tokens[None])[0, -1].float() @ weights)
    delta = {k: sources["after"][k] - sources["before"][k] for k in ("earlier", "later", "inputs")}
    delta["edit_path"] = (measure["after"] - measure["before"]) - sum(delta.values())
    return {"position": position, "squares": [int(s) for s in edit.squares], "stream": int(edit.layers[0]),
            "gained": gained.tolist(), "lost": lost.tolist(), "measure": measure,
            "change": measure["after"] - measure["before"], "parts": delta,
            "by_block_change": (np.array(sources["after"]["by_block"]) - sources["before"]["by_block"]).tolist(),
            "errors_change": sources["after"]["errors"] - sources["before"]["errors"]}


def summarize_edit_paths(rows: list[dict]) -> dict:
    """Over positions: each part's share of the summed change (ratios of sums, as the component-level
    decomposition: a position whose change is near zero must not blow the shares up), and per block."""
    total = float(sum(r["change"] for r in rows))
    parts = {k: float(sum(r["parts"][k] for r in rows)) for k in PARTS}
    by_block = np.sum([r["by_block_change"] for r in rows], axis=0) if rows else np.zeros(0)
    return {"positions": len(rows), "total_change": round(total, 4),
            "share": {k: round(v / total, 4) if total else None for k, v in parts.items()},
            "block_share": [round(float(v) / total, 4) if total else None for v in by_block],
            "errors_share": round(float(sum(r["errors_change"] for r in rows)) / total, 4) if total else None,
            "moved_toward": int(sum(r["change"] > 0 for r in rows))}
