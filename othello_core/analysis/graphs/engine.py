"""The attribution-graph engine a server shares: circuit-tracer's replacement model of one model, behind
its own lock (circuit-tracer hooks its own copy of the model, so graphs never touch the ModelService's
hooks, and one graph is computed at a time)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import torch

from othello_core.analysis.graphs.attribution import MAX_FEATURE_NODES, attribution_graph
from othello_core.analysis.graphs.view import GraphView, graph_view
from othello_core.model.evaluate import move_log_probs
from othello_core.rules.vocab import moves_to_tokens, squares_to_token_array


class GraphEngine:
    def __init__(self, replacement, name: str):
        self.replacement, self.name = replacement, name
        self.lock = threading.Lock()

    @classmethod
    def load(cls, source: str, model_folder: Path | str, device: str | None = None) -> "GraphEngine":
        """A fresh copy of the model ``source`` with the transcoders shipped beside it."""
        from othello_core.analysis.graphs.replacement import replacement_model
        from othello_core.analysis.transcoders.recipe import transcoder_folder
        from othello_core.analysis.transcoders.report import load_set
        from othello_core.model.hooked_transformer import load_model
        model = load_model(source, device=device)
        folder = transcoder_folder(model_folder)
        if not (folder / "config.yaml").exists():
            raise FileNotFoundError(f"no transcoders in {folder}: `python -m othello_core transcoders train` "
                                    "then `transcoders ship` make them")
        return cls(replacement_model(model, load_set(folder, model.cfg.n_layers), scan=source), source)

    def graph(self, moves, position: int, target: int | None = None,
              max_feature_nodes: int = MAX_FEATURE_NODES) -> GraphView:
        """The pruned attribution graph of ``target``'s logit (a square; the top move when None) after move
        ``position + 1``."""
        with self.lock:  # attribution needs gradients: no torch.no_grad around it
            start = time.perf_counter()
            graph = attribution_graph(self.replacement, moves, position, target, max_feature_nodes)
            tokens = torch.tensor([moves_to_tokens(list(moves)[:position + 1])])
            with torch.no_grad():
                probs = move_log_probs(self.replacement(tokens)[0, -1]).exp()
            token = int(graph.logit_targets[0].vocab_idx)
            if target is not None and token != int(squares_to_token_array(target)):
                raise ValueError("circuit-tracer explained another logit than the one asked for")
            return graph_view(graph, moves, position, float(probs[token]), time.perf_counter() - start)
