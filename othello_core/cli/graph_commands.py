"""``python -m othello_core graphs quality``: circuit-tracer's graph scores over held-out positions.

Building the parser imports neither torch nor circuit-tracer: the command imports what it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from othello_core.cli.model_commands import invocation

QUALITY_FILE = "graph_quality.json"
CONTROL_QUALITY_FILE = "graph_quality_control.json"
CIRCUITS_FILE = "graph_circuits.json"


def held_out_positions(n: int, rng_seed: int, games_seed: int | None = None, desc: str = "positions"):
    """``(game index, moves, position)`` for ``n`` held-out games (the transcoders' test games), one position a
    game drawn between move 5 and the game's last predicted move, with a progress bar."""
    import numpy as np
    from tqdm import tqdm

    from othello_core.analysis.transcoders.report import measurement_games
    games = measurement_games(n) if games_seed is None else measurement_games(n, seed=games_seed)
    rng = np.random.default_rng(rng_seed)
    for g in tqdm(range(n), desc=desc, file=sys.stderr):
        moves = tuple(games.squares[g, :games.lengths[g]].tolist())
        yield g, moves, int(rng.integers(4, min(len(moves), 59) - 1))


def cmd_graphs_quality(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from othello_core.analysis.graphs.attribution import attribution_graph, summarize
    from othello_core.analysis.graphs.replacement import replacement_model
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.report import load_set
    from othello_core.cli.sae_commands import _models
    from othello_core.cli.transcoder_commands import run_folder
    from othello_core.paths import artifact_folder
    name, model, _ = _models(args)  # the model, or with --control its random-init control
    shipped = transcoder_folder(artifact_folder(args.model))
    # the control's transcoders stay in their training folder (only their report ships)
    trained = run_folder(argparse.Namespace(model=args.model, out=None, control=True))
    folder = Path(args.set) if args.set else trained if args.control else shipped
    rm = replacement_model(model, load_set(folder, model.cfg.n_layers), scan=name)
    rows = []
    for g, moves, position in held_out_positions(args.positions, 0, desc="attribution graphs"):
        start = time.perf_counter()
        graph = attribution_graph(rm, moves, position, max_feature_nodes=args.max_feature_nodes)
        summary = summarize(graph, position)
        rows.append({**summary.__dict__, "game": g, "seconds": round(time.perf_counter() - start, 2)})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("replacement_score", "completeness_score", "n_kept",
                                                               "n_features", "seconds")}
    out = {"mean": mean, "rows": rows, "positions": args.positions, "max_feature_nodes": args.max_feature_nodes,
           "model": name, "folder": str(folder), "command": invocation(), "torch_threads": torch.get_num_threads()}
    default = shipped / (CONTROL_QUALITY_FILE if args.control else QUALITY_FILE)  # both beside the shipped set
    (Path(args.out) if args.out else default).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{args.positions} held-out positions: replacement score {mean['replacement_score']:.3f}, completeness "
          f"{mean['completeness_score']:.3f}, {mean['n_kept']:.0f} nodes kept of {mean['n_features']:.0f} active "
          f"features, {mean['seconds']:.1f} s per graph")
    return 0


def cmd_graphs_circuits(args: argparse.Namespace) -> int:
    from othello_core.analysis.graphs.circuits import position_circuit, summarize_circuits
    from othello_core.analysis.graphs.engine import GraphEngine
    from othello_core.analysis.labels import labels_file, shipped_labels
    from othello_core.analysis.service import ModelService
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.report import load_set
    service = ModelService.load(args.model)
    engine = GraphEngine.load(args.model, service.folder)
    folder = transcoder_folder(service.folder)
    transcoders = load_set(folder, service.n_layers)
    labels = shipped_labels(service.folder, ("transcoders",))["transcoders"]
    rows = []
    start = time.time()
    for g, moves, position in held_out_positions(args.positions, args.seed, args.seed, "graphs and ablations"):
        view = engine.graph(moves, position, None, args.max_feature_nodes)
        rows.append(position_circuit(view, service, transcoders, labels, seed=args.seed + g))
    out = {"summary": summarize_circuits(rows), "rows": rows, "max_feature_nodes": args.max_feature_nodes,
           "labels": str(labels_file(service.folder, "transcoders")) if labels else None, "command": invocation(), "wall_s": round(time.time() - start, 1)}
    (folder / CIRCUITS_FILE).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["summary"], indent=1))
    return 0


def cmd_graphs_edits(args: argparse.Namespace) -> int:
    """The edit's change of the became-legal-minus-became-illegal logit split by circuit-tracer's attribution rows
    before and after it, at the positions the component-level edit decomposition uses (``findings``: 12, seed 1),
    with the sweep's best single-stream edit; resumable (positions done are kept)."""
    from tqdm import tqdm

    from othello_core.analysis.graphs.edit_paths import EDIT_PATHS_FILE, edit_paths, summarize_edit_paths
    from othello_core.analysis.graphs.engine import GraphEngine
    from othello_core.analysis.interventions import Edit, benchmark_rows, setting_label
    from othello_core.analysis.service import ModelService
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.rules.vocab import tokens_to_squares
    service = ModelService.load(args.model)
    sweep_path = service.folder / "edit_sweep.json"
    if not sweep_path.exists():
        raise SystemExit(f"no {sweep_path}: run `python -m othello_core edits sweep --model {args.model}` first")
    sweep = json.loads(sweep_path.read_text())
    best = next(r for r in sweep["settings"] if r["name"] == sweep["best_single_layer"])
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in best["edit"].items()}
    engine = GraphEngine.load(args.model, service.folder)
    out_path = transcoder_folder(service.folder) / EDIT_PATHS_FILE
    stored = json.loads(out_path.read_text()) if out_path.exists() else {}
    key = {"edit": best["edit"], "seed": args.seed, "positions": args.positions, "model_hash": service.hash}
    same = all(stored.get(k) == v for k, v in key.items())
    rows = stored.get("rows", []) if same else []  # the positions drawn depend on how many are drawn
    bench, _ = benchmark_rows(args.positions, 0, seed=args.seed)
    start = time.time()
    for b in tqdm(range(len(rows), len(bench.pos)), desc="attribution before and after the edit", file=sys.stderr):
        moves = tuple(int(s) for s in tokens_to_squares(bench.tokens[b].numpy()) if s >= 0)
        row = edit_paths(engine.replacement, service, moves, int(bench.pos[b]), Edit(bench.squares[b], **fields))
        rows.append(row)
        out = key | {"edit_label": setting_label(best), "rows": rows, "summary": summarize_edit_paths(rows),
                     "command": invocation(),
                     "wall_s": round((stored.get("wall_s", 0) if same else 0) + time.time() - start, 1)}
        out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(summarize_edit_paths(rows), indent=1))
    return 0


def add_graph_commands(sub) -> None:
    p = sub.add_parser("graphs", help="attribution graphs over the transcoders (circuit-tracer)")
    g_sub = p.add_subparsers(dest="graphs_command", required=True)
    q = g_sub.add_parser("quality", help="replacement and completeness scores over held-out positions")
    q.add_argument("--model", default="bundled")
    q.add_argument("--device", default=None)
    q.add_argument("--set", default=None, help="the transcoder folder (default: the shipped set beside the model)")
    q.add_argument("--positions", type=int, default=50)
    q.add_argument("--max-feature-nodes", type=int, default=2000)
    q.add_argument("--control", action="store_true",
                   help="the random-init control model with its transcoders (trained with `transcoders train --control`)")
    q.add_argument("--out", default=None, help=f"JSON file (default: {QUALITY_FILE}, or {CONTROL_QUALITY_FILE} with "
                                               "--control, beside the shipped transcoders)")
    q.set_defaults(func=cmd_graphs_quality)
    c = g_sub.add_parser("circuits", help="the feature-level circuit finding: kinds, depth, ablations over positions")
    c.add_argument("--model", default="bundled")
    c.add_argument("--positions", type=int, default=20)
    c.add_argument("--seed", type=int, default=37_001)
    c.add_argument("--max-feature-nodes", type=int, default=500)
    c.set_defaults(func=cmd_graphs_circuits)
    e = g_sub.add_parser("edits", help="an edit's logit change split by attribution before and after it")
    e.add_argument("--model", default="bundled")
    e.add_argument("--positions", type=int, default=12, help="positions, drawn as the edit finding draws them")
    e.add_argument("--seed", type=int, default=1)
    e.set_defaults(func=cmd_graphs_edits)
