"""One attribution graph (circuit-tracer, as the Graph page computes it) at several positions of a held-out
game, for each (batch size, feature nodes) setting: seconds, and the graph's replacement and completeness
scores, as ratios to the first setting. The batch size only groups the backward passes (the graph is the same);
the feature nodes decide how many features get their own row.

    python -m bench.bench_graph [--positions 10,30,45,55] [--settings 256:500,64:500,64:250]
"""

import argparse
import time

import numpy as np
import torch

from othello_core.analysis.graphs.attribution import attribution_graph, summarize
from othello_core.analysis.graphs.engine import GraphEngine
from othello_core.analysis.transcoders.report import measurement_games
from othello_core.paths import artifact_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", default="10,30,45,55")
    parser.add_argument("--settings", default="256:500,64:500,64:250", help="batch:nodes, comma-separated")
    parser.add_argument("--game", type=int, default=0, help="which held-out game (the transcoders' test games)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the app's setting
    games = measurement_games(args.game + 1)
    moves = tuple(games.squares[args.game, :games.lengths[args.game]].tolist())
    positions = [p for p in (int(x) for x in args.positions.split(",")) if p < min(len(moves), 59)]
    settings = [tuple(int(v) for v in s.split(":")) for s in args.settings.split(",")]
    engine = GraphEngine.load("bundled", artifact_folder("bundled"))
    attribution_graph(engine.replacement, moves, 4, None, 100, batch_size=64)  # warm up
    rows = {}
    for batch, nodes in settings:
        for position in positions:
            start = time.perf_counter()
            graph = attribution_graph(engine.replacement, moves, position, None, nodes, batch_size=batch)
            seconds = time.perf_counter() - start
            summary = summarize(graph, position)
            rows[(batch, nodes, position)] = (seconds, summary.replacement_score, summary.completeness_score)
            print(f"batch {batch:4d}, {nodes:4d} feature nodes, position {position:2d}: {seconds:6.1f} s, replacement "
                  f"{summary.replacement_score:.3f}, completeness {summary.completeness_score:.3f}, "
                  f"{summary.n_features:,} active features", flush=True)
    base = settings[0]
    for batch, nodes in settings:
        mean = np.mean([[rows[(batch, nodes, p)][i] for i in range(3)] for p in positions], axis=0)
        ratio = mean[0] / np.mean([rows[(*base, p)][0] for p in positions])
        print(f"batch {batch}, {nodes} nodes: mean {mean[0]:.1f} s a graph ({ratio:.2f}x batch {base[0]}, {base[1]} "
              f"nodes), replacement {mean[1]:.3f}, completeness {mean[2]:.3f}")


if __name__ == "__main__":
    main()
