"""``python -m othello_core transcoders train|report``: per-layer transcoders of a model's MLPs.

Building the parser imports neither torch nor the transcoder modules: each command imports what it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from othello_core.cli.model_commands import add_dataclass_flags, dictionary_flags, invocation
from othello_core.analysis.transcoders.recipe import TranscoderRecipe, flag_specs

RUNS = Path("runs/transcoders")


def _recipe(args: argparse.Namespace) -> TranscoderRecipe:
    return TranscoderRecipe(**{name: getattr(args, name) for name, _, _ in flag_specs()})


def _tqdm(items, desc: str = "", total: int | None = None):
    from tqdm import tqdm
    return tqdm(items, desc=desc, total=total, file=sys.stderr, mininterval=5)


def _model(args: argparse.Namespace):
    """(name, model, weights hash) of the model or its random-init control."""
    from othello_core.cli.sae_commands import _models
    return _models(args)


def run_folder(args: argparse.Namespace) -> Path:
    """Where training writes (full-precision layers): ``runs/transcoders/<model>[-control]`` unless --out."""
    name = Path(args.model).name  # "bundled", or a checkpoint's folder or file name
    return Path(args.out) if args.out else RUNS / (name + ("-control" if args.control else ""))


def cmd_transcoders_train(args: argparse.Namespace) -> int:
    from othello_core.analysis.transcoders.training import train_set
    recipe = _recipe(args)
    name, model, digest = _model(args)
    folder = run_folder(args)
    blocks = [int(b) for b in args.blocks.split(",")] if args.blocks else None
    records = train_set(model, recipe, folder, Path(args.acts) if args.acts else folder / "acts", name, digest,
                        blocks, progress=_tqdm, log=lambda line: print(line, flush=True))
    (folder / "command.txt").write_text(invocation() + "\n")
    if args.json:
        print(json.dumps(records, indent=1))
    return 0


def cmd_transcoders_report(args: argparse.Namespace) -> int:
    from othello_core.analysis.service import ModelService
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.report import (
        CONTROL_REPORT_FILE, REPORT_FILE, load_set, markdown_table, measure_set, measurement_games,
    )
    from othello_core.paths import artifact_folder
    shipped = transcoder_folder(artifact_folder(args.model))  # the set beside the model
    if args.markdown:
        folder = Path(args.set) if args.set else shipped
        if not (folder / REPORT_FILE).exists():
            raise SystemExit(f"no {folder / REPORT_FILE}: run `python -m othello_core transcoders report --set FOLDER` first")
        control = folder / CONTROL_REPORT_FILE
        print(markdown_table(json.loads((folder / REPORT_FILE).read_text()),
                             json.loads(control.read_text()) if control.exists() else None))
        return 0
    name, model, digest = _model(args)
    service = ModelService(model, name, weights_hash=digest)
    folder = Path(args.set) if args.set else run_folder(args)
    transcoders = load_set(folder, model.cfg.n_layers, service.device)
    report = measure_set(service, transcoders, measurement_games(args.games), run_folder(args) / "heldout-acts", _tqdm)
    report.update(model=name, model_hash=digest, folder=str(folder), command=invocation())
    text = json.dumps(report, indent=1) + "\n"
    (folder / REPORT_FILE).write_text(text)
    if args.control and not args.set and shipped.exists():  # beside the shipped set (the weights stay in runs/)
        (shipped / CONTROL_REPORT_FILE).write_text(text)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for layer in report["layers"]:
        print(f"block {layer['block']} ({layer['input_hook']} -> {layer['output_hook']}): explained variance "
              f"{layer['explained_variance']:.3f}, L0 {layer['l0']:.1f}, dead {layer['dead_features']} "
              f"of {layer['d_transcoder']}")
    print(f"legal top-1 on {report['positions']:,} held-out positions: model {report['legal_top1_model']:.2%}, "
          f"replacement model (all {len(report['layers'])} MLPs replaced, no error terms) "
          f"{report['legal_top1_replacement']:.2%}")
    return 0


def cmd_transcoders_ship(args: argparse.Namespace) -> int:
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.shipping import ship_set
    from othello_core.analysis.transcoders.training import validation_inputs
    from othello_core.paths import artifact_folder
    run = run_folder(args)
    out = transcoder_folder(artifact_folder(args.model), args.control)
    validation = validation_inputs(Path(args.acts) if args.acts else run / "acts") if args.drop_unfired else None
    kept = ship_set(run, out, validation, quantize=args.quantize)
    for block, k in kept.items():
        print(f"block {block}: {k['fired']:,} of {k['of']:,} features fire on the validation inputs; kept {k['width']:,}")
    size = sum(p.stat().st_size for p in out.glob("layer_*.safetensors"))
    print(f"shipped {out}: {size / 1e6:.1f} MB ({'8-bit rows' if args.quantize else 'float16'})")
    return 0


def add_transcoder_commands(sub) -> None:
    p = sub.add_parser("transcoders", help="per-layer transcoders of the MLPs (circuit-tracer's format): train, report")
    t_sub = p.add_subparsers(dest="transcoders_command", required=True)
    common = dictionary_flags(f"the training folder (default: {RUNS}/<model>[-control])")

    t = t_sub.add_parser("train", parents=[common],
                         help="train every block's transcoder not yet trained (resumable; progress on stderr)")
    add_dataclass_flags(t, flag_specs())
    t.add_argument("--blocks", default=None, help="comma-separated blocks (default: all)")
    t.add_argument("--acts", default=None, help="where the collected activations go (default: <out>/acts)")
    t.set_defaults(func=cmd_transcoders_train)

    r = t_sub.add_parser("report", parents=[common], help="measure a transcoder set on held-out games")
    r.add_argument("--set", default=None, help="the folder of layer_L.safetensors (default: the training folder)")
    r.add_argument("--games", type=int, default=300)
    r.add_argument("--markdown", action="store_true", help="print the README's table from a stored report.json")
    r.set_defaults(func=cmd_transcoders_report)

    s = t_sub.add_parser("ship", parents=[common],
                         help="write the trained set into the model's folder with circuit-tracer's config")
    s.add_argument("--quantize", action=argparse.BooleanOptionalAction, default=False,
                   help="8-bit rows + float16 scales (default: float16)")
    s.add_argument("--drop-unfired", action=argparse.BooleanOptionalAction, default=True,
                   help="drop features that never fire on the training's held-out slice (one common width)")
    s.add_argument("--acts", default=None, help="the training's collected activations (default: <run>/acts)")
    s.set_defaults(func=cmd_transcoders_ship)
