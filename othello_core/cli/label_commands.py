"""``python -m othello_core labels fit|report``: rule labels (decision trees over the board) for MLP
neurons, SAE features and transcoder features.

Building the parser imports neither torch nor scikit-learn: each command imports what it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from othello_core.cli.model_commands import invocation
from othello_core.paths import artifact_folder



def _tqdm(items, desc: str = "", total: int | None = None):
    from tqdm import tqdm
    return tqdm(items, desc=desc, total=total, file=sys.stderr, mininterval=5)


def cmd_labels_fit(args: argparse.Namespace) -> int:
    import numpy as np

    from othello_core.analysis.activation_store import real_positions
    from othello_core.analysis.labels import (EXPLAINED_R2, LABEL_FIT_SEED, LABEL_TEST_SEED, UNIT_KINDS, label_units,
                                              labels_file, save_labels, unit_activations)
    from othello_core.analysis.sae.metrics import board_properties
    from othello_core.model.hooked_transformer import load_model
    from othello_core.rules.games import random_games
    folder = artifact_folder(args.model)
    model = load_model(args.model, device=args.device)
    fit, test = (random_games(args.games, seed=s, labels=True) for s in (LABEL_FIT_SEED, LABEL_TEST_SEED))
    props = {name: board_properties(b, real_positions(b)) for name, b in (("fit", fit), ("test", test))}
    kinds = UNIT_KINDS if args.units == "all" else (args.units,)
    for kind in kinds:
        out = labels_file(folder, kind)
        if out.exists() and not args.force:
            print(f"{out} exists: kept (--force refits)")
            continue
        start = time.time()
        acts = {name: unit_activations(model, kind, b, folder) for name, b in (("fit", fit), ("test", test))}
        sets = {name: label_units(acts["fit"][name], props["fit"], acts["test"][name], props["test"],
                                  progress=_tqdm, desc=f"{kind} {name}") for name in acts["fit"]}
        info = {"kind": kind, "games": {"fit": args.games, "test": args.games, "seeds": [LABEL_FIT_SEED, LABEL_TEST_SEED]},
                "positions": {"fit": len(props["fit"]), "test": len(props["test"])}, "depth": int(sets[next(iter(sets))].path.shape[1]),
                "wall_s": round(time.time() - start, 1), "command": invocation(), "model": args.model}
        out.parent.mkdir(parents=True, exist_ok=True)
        save_labels(out, sets, info)
        for name, labels in sets.items():
            print(f"{kind} {name}: {int((labels.r2 > EXPLAINED_R2).sum())} of {len(labels.r2)} units with held-out "
                  f"R^2 > {EXPLAINED_R2} (median R^2 {float(np.median(labels.r2)):.3f})", flush=True)
        print(f"{kind}: {time.time() - start:.0f} s -> {out}", flush=True)
    return 0


DEPTH_FILE = "depth_sweep.json"


def cmd_labels_depth(args: argparse.Namespace) -> int:
    """Layer ``--layer``'s neurons at every (games, depth): the share with held-out R^2 > 0.7, to test whether
    the gap to arXiv 2511.00059's 913 / 2,048 is the trees' depth or the data. Settings already in the file are
    kept (resumable: one row written as each finishes)."""
    import torch

    from othello_core.analysis.activation_store import real_positions
    from othello_core.analysis.labels import LABEL_FIT_SEED, LABEL_TEST_SEED, LABELS_FOLDER, explained_share
    from othello_core.analysis.sae.metrics import board_properties
    from othello_core.analysis.sae.training import collect_stream
    from othello_core.model.hooked_transformer import load_model
    from othello_core.model.weights import model_hash
    from othello_core.rules.games import random_games
    from othello_core.rules.hooks import mlp_post
    out = artifact_folder(args.model) / LABELS_FOLDER / DEPTH_FILE if args.out is None else Path(args.out)
    model = load_model(args.model, device=args.device)
    key = {"layer": args.layer, "model_hash": model_hash(model)}
    done = json.loads(out.read_text()) if out.exists() else key | {"rows": []}
    if any(done.get(k) != v for k, v in key.items()):
        print(f"error: {out} holds layer {done['layer']} of model {done.get('model_hash')}, not layer {args.layer} "
              f"of {key['model_hash']}: pass --out", file=sys.stderr)
        return 2
    for games in args.games:
        todo = [d for d in args.depths if not any(r["games"] == games and r["depth"] == d for r in done["rows"])]
        if not todo:
            continue
        sets = {name: random_games(games, seed=seed, labels=True)
                for name, seed in (("fit", LABEL_FIT_SEED), ("test", LABEL_TEST_SEED))}
        props = {name: board_properties(b, real_positions(b)) for name, b in sets.items()}
        with torch.no_grad():
            acts = {name: collect_stream(model, b.squares, b.lengths, mlp_post(args.layer), args.layer + 1, 100,
                                         dtype=torch.float32).numpy() for name, b in sets.items()}
        for depth in todo:
            start = time.time()
            row = explained_share(acts["fit"], props["fit"], acts["test"], props["test"], depth, progress=_tqdm,
                                  desc=f"L{args.layer} neurons, {games} games, depth {depth}")
            row |= {"games": games, "positions": len(props["fit"]), "wall_s": round(time.time() - start, 1),
                    "command": invocation()}  # rows of several runs share the file: each says what made it
            done["rows"].append(row)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(done, indent=1))
            print(f"L{args.layer}, {games} fitting games ({row['positions']:,} positions), depth {depth}: "
                  f"{row['explained']} of {row['units']} neurons R^2 > 0.7 (median {row['median_r2']:.3f}) "
                  f"in {row['wall_s']:.0f} s", flush=True)
    print(f"wrote {out}")
    return 0


def cmd_labels_report(args: argparse.Namespace) -> int:
    from othello_core.analysis.labels import UNIT_KINDS, labels_file, load_labels
    from othello_core.analysis.labels import LABELS_FOLDER
    from othello_core.reports.labels import depth_table, label_summary, markdown_table, summary_lines
    folder = artifact_folder(args.model)
    if args.depth:
        path = folder / LABELS_FOLDER / DEPTH_FILE
        if not path.exists():
            raise SystemExit(f"no {path}: run `python -m othello_core labels depth` first")
        print(depth_table(json.loads(path.read_text())))
        return 0
    found = {k: load_labels(labels_file(folder, k)) for k in UNIT_KINDS if labels_file(folder, k).exists()}
    if not found:
        raise SystemExit(f"no labels in {folder / 'labels'}: run `python -m othello_core labels fit` first")
    summary = {kind: label_summary(sets, info) for kind, (sets, info) in found.items()}
    if args.markdown:
        print(markdown_table(summary))
        return 0
    print(json.dumps(summary, indent=1) if args.json else "\n".join(summary_lines(summary)))
    return 0


def cmd_labels_validate(args: argparse.Namespace) -> int:
    import torch

    from othello_core.analysis.activation_store import real_positions
    from othello_core.analysis.label_validation import validate_layer
    from othello_core.analysis.labels import LABEL_TEST_SEED, labels_file, load_labels
    from othello_core.analysis.sae.metrics import board_properties
    from othello_core.analysis.sae.training import collect_stream
    from othello_core.analysis.service import ModelService
    from othello_core.rules.games import random_games
    from othello_core.rules.hooks import mlp_post
    folder = artifact_folder(args.model)
    path = labels_file(folder, "neurons")
    if not path.exists():
        raise SystemExit(f"no {path}: run `python -m othello_core labels fit --units neurons` first")
    sets, info = load_labels(path)
    service = ModelService.load(args.model)
    batch = random_games(args.games, seed=LABEL_TEST_SEED, labels=True)  # the games the trees were scored on
    props = board_properties(batch, real_positions(batch))
    start = time.time()
    with torch.no_grad():
        acts = collect_stream(service.model, batch.squares, batch.lengths, mlp_post(args.layer), args.layer + 1,
                              100, dtype=torch.float32).numpy()
    out = validate_layer(service, batch, props, acts, sets[f"L{args.layer}"], args.layer, top=args.top)
    out |= {"games": args.games, "command": invocation(), "wall_s": round(time.time() - start, 1)}
    target = path.parent / "validation.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(validation_lines(out)) + f" -> {target}")
    return 0


def cmd_labels_search(args: argparse.Namespace) -> int:
    from othello_core.analysis.labels import shipped_labels
    from othello_core.analysis.probes import REPORT_FILE
    from othello_core.analysis.square_search import probe_accuracy, readers
    from othello_core.rules.hooks import stream_label
    from othello_core.rules.notation import MoveError, parse_moves
    try:
        (square,) = parse_moves(args.square)
    except (MoveError, ValueError):
        raise SystemExit(f"{args.square!r} is not one square (e.g. c3)")
    folder = artifact_folder(args.model)
    sets = {k: v for k, v in shipped_labels(folder).items() if v}
    report = json.loads((folder / REPORT_FILE).read_text()) if (folder / REPORT_FILE).exists() else None
    accuracy = probe_accuracy(report, square, args.state) if report else None
    rows = readers(sets, square, args.state, top=args.top)
    if args.json:
        print(json.dumps({"probe_accuracy": accuracy, "readers": rows}, indent=1))
        return 0
    if accuracy:
        print("linear probe accuracy on this square: " + ", ".join(f"{stream_label(s)} {a:.1%}" for s, a in enumerate(accuracy)))
    for r in rows:
        print(f"{r['kind']:>11} {r['set']:>4} #{r['unit']:<5} {r['via']:>13} {r['score']:.2f}  {r['rule']}  [best: {r['best']}]")
    if not rows:
        print("no labelled unit names it" + ("" if sets else f" (no labels in {folder / 'labels'}: `labels fit`)"))
    return 0


def validation_lines(out: dict) -> list[str]:
    lines = []
    for group, what in (("labelled_summary", "best-labelled"), ("random_summary", "random")):
        s = out[group]
        lines.append(f"L{out['layer']}, {s['neurons']} {what} neurons, mean-ablated one at a time: median loss of "
                     f"legal-move probability {s['median_harm_matching']:.5f} where the rule holds, "
                     f"{s['median_harm_other']:.6f} elsewhere; {s['more_where_rule_holds']} of {s['neurons']} hurt "
                     "more where their rule holds")
    return lines


def add_label_commands(sub) -> None:
    p = sub.add_parser("labels", help="rule labels: decision trees from the board to each neuron / feature")
    l_sub = p.add_subparsers(dest="labels_command", required=True)
    f = l_sub.add_parser("fit", help="fit and store the labels (progress on stderr)")
    f.add_argument("--model", default="bundled")
    f.add_argument("--device", default=None)
    f.add_argument("--units", choices=("all", "neurons", "sae", "transcoders"), default="all")
    f.add_argument("--games", type=int, default=100, help="fitting games, and as many held-out games")
    f.add_argument("--force", action="store_true", help="refit labels that exist")
    f.set_defaults(func=cmd_labels_fit)
    d = l_sub.add_parser("depth", help="one layer's neurons explained at each tree depth and number of fitting games")
    d.add_argument("--model", default="bundled")
    d.add_argument("--device", default=None)
    d.add_argument("--layer", type=int, default=5)
    d.add_argument("--depths", type=lambda t: [int(x) for x in t.split(",")], default=[3, 5, 8],
                   help="comma-separated tree depths (default 3,5,8)")
    d.add_argument("--games", type=lambda t: [int(x) for x in t.split(",")], default=[100, 500],
                   help="comma-separated fitting games (as many held out; default 100,500)")
    d.add_argument("--out", default=None, help=f"JSON file (default: labels/{DEPTH_FILE} beside the model)")
    d.set_defaults(func=cmd_labels_depth)
    r = l_sub.add_parser("report", help="the share of units each rule explains, per layer")
    r.add_argument("--model", default="bundled")
    r.add_argument("--json", action="store_true")
    r.add_argument("--markdown", action="store_true", help="the README's table")
    r.add_argument("--depth", action="store_true", help=f"the README's depth table (from labels/{DEPTH_FILE})")
    r.set_defaults(func=cmd_labels_report)
    v = l_sub.add_parser("validate", help="ablate the best-labelled neurons of a layer: harm on their rule's positions")
    v.add_argument("--model", default="bundled")
    v.add_argument("--layer", type=int, default=5)
    v.add_argument("--top", type=int, default=20)
    v.add_argument("--games", type=int, default=100)
    v.set_defaults(func=cmd_labels_validate)
    s = l_sub.add_parser("search", help="what reads a square: probes per stream, and the units whose labels name it")
    s.add_argument("square", help="e.g. c3")
    s.add_argument("state", choices=("empty", "mine", "theirs", "legal", "flipped"))
    s.add_argument("--model", default="bundled")
    s.add_argument("--top", type=int, default=15)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_labels_search)
