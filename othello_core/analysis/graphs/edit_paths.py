"""The edit findings' composition-depth question at the feature level: does a residual-stream edit move a
move's logit by itself, or through the transcoder features of the layers after it?

For one position and one edit (``interventions.Edit``), the attribution graph of one move's logit is built twice
with circuit-tracer: on the clean run, and on the run with the edit's change to the stream added by a hook (the
change is measured once on the model and added as a constant, so attribution flows through the stream as it
does without the edit). In each graph the target logit's direct inputs (features, error nodes, input moves; with
attention patterns and LayerNorm scales frozen at the run's own values) are summed by where they sit: blocks
before the edited stream (``earlier``: they read nothing the edit changed, and move only through the final
LayerNorm's scale), blocks after it (``later``), the input moves. The change of the logit that no node carries
is the edit's own path to the logit (the added vector read directly or through attention), together with the
rescaled constant terms (biases, position embeddings)."""

from __future__ import annotations

import numpy as np
import torch

from othello_core.analysis.graphs.attribution import attribution_graph
from othello_core.rules.hooks import stream_hook
from othello_core.rules.vocab import moves_to_tokens, squares_to_token_array

PARTS = ("earlier", "later", "inputs", "edit_path")


def stream_change(service, moves, position: int, edit) -> tuple[str, torch.Tensor]:
    """(hook, change ``[1, position + 1, d_model]``): what ``edit`` (one stream) adds to the stream it edits."""
    from othello_core.analysis.interventions import edit_hook, rows_for_game
    if len(edit.layers) != 1:
        raise ValueError("the edit-path graphs take an edit of one stream")
    stream = edit.layers[0]
    hook = stream_hook(stream)
    tokens = torch.tensor([moves_to_tokens(list(moves)[:position + 1])])
    rows = rows_for_game(moves, position, edit.squares)
    _, clean = service.run(tokens, names=[hook])
    _, edited = service.run(tokens, names=[hook],
                            fwd_hooks=[(hook, edit_hook(edit, service.probes, stream, rows,
                                                        torch.Generator().manual_seed(0)))])
    return hook, (edited[hook] - clean[hook]).float().cpu()


def logit_sources(graph, first_later_block: int) -> dict[str, float]:
    """The target logit's direct inputs in ``graph`` summed by where they sit (``earlier`` / ``later`` blocks,
    ``inputs``), and ``by_block``: features and error nodes of each block."""
    n_layers, n_pos = graph.cfg.n_layers, graph.n_pos
    n_feat = len(graph.selected_features)
    row = graph.adjacency_matrix[n_feat + n_layers * n_pos + n_pos].float().cpu().numpy()  # the first target
    feature_layers = graph.active_features[graph.selected_features][:, 0].cpu().numpy()
    by_block = np.zeros(n_layers)
    np.add.at(by_block, feature_layers, row[:n_feat])
    by_block += row[n_feat:n_feat + n_layers * n_pos].reshape(n_layers, n_pos).sum(1)
    return {"earlier": float(by_block[:first_later_block].sum()), "later": float(by_block[first_later_block:].sum()),
            "inputs": float(row[n_feat + n_layers * n_pos:n_feat + n_layers * n_pos + n_pos].sum()),
            "by_block": by_block.round(5).tolist(),
            "errors": float(row[n_feat:n_feat + n_layers * n_pos].sum())}


def _demeaned_logit(replacement, tokens: torch.Tensor, token: int, hooks=()) -> float:
    with torch.no_grad(), replacement.hooks(fwd_hooks=list(hooks)):
        logits = replacement(tokens)[0, -1].float()
    return float(logits[token] - logits.mean())


def edit_paths(replacement, service, moves, position: int, edit, target: int,
               max_feature_nodes: int = 500) -> dict:
    """The target's logit change under ``edit`` split by the graphs into ``PARTS`` (they sum to the change)."""
    hook, change = stream_change(service, moves, position, edit)

    def add_change(resid, hook):  # noqa: ARG001
        return resid + change[:, :resid.shape[1]].to(resid)

    tokens = torch.tensor([moves_to_tokens(list(moves)[:position + 1])])
    token = int(squares_to_token_array(target))
    first_later = edit.layers[0]  # stream s is written by block s - 1: blocks s and on read the edit
    before = logit_sources(attribution_graph(replacement, moves, position, target, max_feature_nodes), first_later)
    with replacement.hooks(fwd_hooks=[(hook, add_change)]):
        after = logit_sources(attribution_graph(replacement, moves, position, target, max_feature_nodes), first_later)
    logit = {"before": _demeaned_logit(replacement, tokens, token),
             "after": _demeaned_logit(replacement, tokens, token, [(hook, add_change)])}
    delta = {k: after[k] - before[k] for k in ("earlier", "later", "inputs")}
    delta["edit_path"] = (logit["after"] - logit["before"]) - sum(delta.values())
    return {"position": position, "target": int(target), "squares": [int(s) for s in edit.squares],
            "stream": int(edit.layers[0]), "logit": logit, "change": logit["after"] - logit["before"],
            "parts": delta, "by_block_change": (np.array(after["by_block"]) - np.array(before["by_block"])).round(5).tolist(),
            "errors_change": after["errors"] - before["errors"]}


def summarize_edit_paths(rows: list[dict]) -> dict:
    """Over positions: each part's share of the summed logit change (ratios of sums, as the component-level
    finding: a position whose change is near zero must not blow the shares up), and per block."""
    total = float(sum(r["change"] for r in rows))
    parts = {k: float(sum(r["parts"][k] for r in rows)) for k in PARTS}
    by_block = np.sum([r["by_block_change"] for r in rows], axis=0) if rows else np.zeros(0)
    return {"positions": len(rows), "total_change": round(total, 4),
            "share": {k: round(v / total, 4) if total else None for k, v in parts.items()},
            "block_share": [round(float(v) / total, 4) if total else None for v in by_block],
            "errors_share": round(float(sum(r["errors_change"] for r in rows)) / total, 4) if total else None,
            "raised": int(sum(r["change"] > 0 for r in rows))}
