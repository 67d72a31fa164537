"""Attribution graphs of one position with circuit-tracer: the graph, its pruned core, its quality scores.

The graph explains one move's logit at one position: the game's tokens up to that position are attributed
(the model is causal, so the prefix computes exactly what the whole game does there). Nodes are the active
transcoder features at every (layer, position), one error node per (layer, position), the input moves and
the target logit; edges are direct linear effects with attention patterns and LayerNorm scales frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from othello_core.rules.vocab import TOKEN_TO_SQUARE, moves_to_tokens, squares_to_token_array

MAX_FEATURE_NODES = 2_000  # the features whose influence is computed (the most influential first)
NODE_THRESHOLD, EDGE_THRESHOLD = 0.8, 0.98  # circuit-tracer's pruning defaults: cumulative influence kept
# Rows a backward pass: the forward before them runs this many copies of the game, so on a CPU a small batch is
# faster (bench/bench_graph.py: 16 a pass took 0.71x the time of 32 and 0.54x of 64, the same scores).
BATCH_SIZE = 16


@dataclass
class GraphSummary:
    """What the page and the findings read from one graph."""

    position: int
    target: int  # the square whose logit is explained
    replacement_score: float  # share of input -> logit influence through features rather than errors
    completeness_score: float  # influence-weighted share of every node's input from features or inputs
    n_features: int  # active features considered
    n_kept: int  # nodes kept by pruning (features, errors, inputs, logit)


def attribution_graph(replacement, moves, position: int, target: int | None = None,
                      max_feature_nodes: int = MAX_FEATURE_NODES, batch_size: int = BATCH_SIZE, verbose: bool = False):
    """circuit-tracer's ``Graph`` of the logit of ``target`` (a square; the top move when ``None``) after
    move ``position + 1`` of ``moves``."""
    from circuit_tracer import attribute
    tokens = torch.tensor(moves_to_tokens(list(moves)[:position + 1]))
    targets = None if target is None else torch.tensor([int(squares_to_token_array(target))])
    return attribute(tokens, replacement, attribution_targets=targets, max_n_logits=1, desired_logit_prob=0.0,
                     max_feature_nodes=max_feature_nodes, batch_size=batch_size, verbose=verbose)


def summarize(graph, position: int) -> GraphSummary:
    from circuit_tracer.graph import compute_graph_scores, prune_graph
    replacement_score, completeness_score = compute_graph_scores(graph)
    pruned = prune_graph(graph, NODE_THRESHOLD, EDGE_THRESHOLD)
    token = int(graph.logit_targets[0].vocab_idx)
    return GraphSummary(position, TOKEN_TO_SQUARE[token], float(replacement_score), float(completeness_score),
                        len(graph.active_features), int(pruned.node_mask.sum()))
