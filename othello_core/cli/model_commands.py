"""The model commands of ``python -m othello_core``: train, export, eval, card, probes, edits, findings.

Each command imports torch and its modules inside its function: building the parser (which every
command does, ``board`` included) must not import torch."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path


from othello_core.model.train_config import TrainConfig, flag_specs
from othello_core.paths import artifact_folder


def invocation() -> str:
    """This command as typed, for the reports and configs it writes."""
    return "python -m othello_core " + " ".join(sys.argv[1:])


def add_dataclass_flags(parser: argparse.ArgumentParser, specs) -> None:
    """One flag per config field, from ``(name, default, type)`` specs (``--x`` / ``--no-x`` for booleans):
    the train command's from ``TrainConfig``, the SAE commands' from ``SAERecipe``."""
    for name, default, kind in specs:
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=kind, default=default)


def dictionary_flags(out_help: str) -> argparse.ArgumentParser:
    """The flags every dictionary command shares (SAEs, transcoders): which model, its control, device, folder."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default="bundled")
    common.add_argument("--control", action="store_true", help="the random-init control of the model")
    common.add_argument("--device", default=None)
    common.add_argument("--out", default=None, help=out_help)
    common.add_argument("--json", action="store_true")
    return common


def _train_args(p: argparse.ArgumentParser) -> None:
    """The train flags, one per ``TrainConfig`` field (declared once there)."""
    p.add_argument("--run-dir", default="runs/othello-gpt")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true")
    add_dataclass_flags(p, flag_specs())


def cmd_train(args: argparse.Namespace) -> int:
    from othello_core.model.train import train
    names = {f.name for f in fields(TrainConfig)}
    try:
        cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names and k != "command"})
    except ValueError as err:
        raise SystemExit(f"train: {err}")
    cfg.command = invocation()
    run_dir = train(cfg, resume=args.resume, progress=not args.no_progress)
    print(f"wrote {run_dir}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from othello_core.model.train import export_checkpoint
    print(f"wrote the weights into {export_checkpoint(args.run_dir, shard_mb=args.shard_mb)}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from othello_core.model.evaluate import evaluate, heldout_games, real_games
    from othello_core.model.hooked_transformer import load_model
    from othello_core.model.weights import ModelLoadError
    try:
        model = load_model(args.model, device=args.device)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = str(next(model.parameters()).device)
    batch = real_games(args.games) if args.real else heldout_games(args.games)
    with torch.inference_mode():
        result = evaluate(model, batch, device=device, by_move=args.by_move)
    result |= {"model": args.model, "data": "eothello" if args.real else "synthetic-heldout"}
    if args.json:
        print(json.dumps(result))
        return 0
    by_move = result.pop("by_move", None)
    for key, value in result.items():
        print(f"{key:>14}: {value}")
    if by_move:
        from othello_core.reports.evaluation import MOVE_SPANS, error_rate_over_moves, pass_errors, pass_errors_sentence
        for first, last in MOVE_SPANS:
            print(f"{f'error {first}-{last}':>14}: {error_rate_over_moves(by_move, first, last):.4%}")
        print(pass_errors_sentence(pass_errors(by_move)))
    return 0


def add_commands(sub) -> None:
    """Register the model commands; nothing here imports torch until a command runs."""
    p = sub.add_parser("train", help="train an Othello-GPT on random legal games")
    _train_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write the fp16 weights from a run folder's checkpoint.pt")
    p.add_argument("run_dir")
    p.add_argument("--shard-mb", type=float, default=None,
                   help="split into files of at most this many MiB (+ an index), e.g. 15")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("eval", help="legal-move accuracy of a model on held-out games")
    p.add_argument("--model", default="bundled",
                   help="bundled | synthetic | championship | path to a checkpoint or run folder")
    p.add_argument("--games", type=int, default=2000)
    p.add_argument("--real", action="store_true", help="evaluate on the eOthello games")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--by-move", action="store_true", help="also the top-1 errors per move number")
    p.set_defaults(func=cmd_eval)
    add_probe_commands(sub)
    add_edit_commands(sub)
    add_findings_command(sub)
    add_card_command(sub)


def cmd_probes_train(args: argparse.Namespace) -> int:
    import time

    import torch
    from tqdm import tqdm

    from othello_core.model.hooked_transformer import load_model

    from othello_core.model.weights import model_hash
    from othello_core.analysis.probe_suite import SuiteConfig, compare_lines, run_suite
    from othello_core.analysis.probes import REPORT_FILE, summary_lines

    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.time()
    model = load_model(args.model, device=args.device)
    digest = model_hash(model)
    widths = tuple(int(w) for w in args.mlp_widths.split(",") if w)
    cfg = SuiteConfig(train_games=args.train_games, test_games=args.test_games, mlp_widths=widths,
                      ship_widths=tuple(int(w) for w in args.ship_widths.split(",") if w),
                      li_games=args.li_games, control=not args.no_control, li=not args.no_li, seed=args.seed,
                      max_epochs=args.max_epochs, control_max_epochs=args.control_max_epochs)
    bar = lambda it, total=None, desc=None: tqdm(it, total=total, desc=desc, leave=False)  # noqa: E731
    folder = artifact_folder(args.model) if args.out is None else Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)

    def save(probes, report):  # after every stage: the report so far
        report |= {"model": args.model, "data": "synthetic", "seed": args.seed,
                   "wall_time_s": round(time.time() - start, 1), "command": invocation()}
        probes.save(folder, meta={"model": args.model})
        (folder / REPORT_FILE).write_text(json.dumps(report, separators=(",", ":")))  # compact: the tree travels to GPUs

    probes, report = run_suite(model, cfg, Path(args.work_dir) / args.model.replace("/", "_"), digest,
                               progress=bar, log=lambda line: tqdm.write(line), checkpoint=save)
    print("\n".join(summary_lines(report) + [""] + compare_lines(report)))
    print(f"wrote {folder} in {report['wall_time_s']} s (peak RSS {report['peak_rss_mb']} MB)")
    return 0


def cmd_probes_report(args: argparse.Namespace) -> int:
    from othello_core.analysis.probe_suite import compare_lines, compare_table
    from othello_core.analysis.probes import REPORT_FILE, summary_lines
    path = artifact_folder(args.model) / REPORT_FILE
    if not path.exists():
        print(f"error: no probe report at {path}; run `python -m othello_core probes train "
              f"--model {args.model}`", file=sys.stderr)
        return 2
    report = json.loads(path.read_text())
    if args.compare:
        print(json.dumps(compare_table(report)) if args.json else "\n".join(compare_lines(report)))
    else:
        print(json.dumps(report) if args.json else "\n".join(summary_lines(report)))
    return 0


def add_probe_commands(sub) -> None:
    probes = sub.add_parser("probes", help="train board probes / print their report")
    psub = probes.add_subparsers(dest="probes_command", required=True)
    p = psub.add_parser("train", help="fit every probe kind on every stream, with the random-init control "
                                      "and Li et al.'s protocol")
    p.add_argument("--model", default="bundled")
    p.add_argument("--train-games", type=int, default=6000, help="synthetic training games (every position)")
    p.add_argument("--test-games", type=int, default=1000, help="other synthetic games, held out")
    p.add_argument("--li-games", type=int, default=3000, help="eOthello games for Li et al.'s protocol")
    p.add_argument("--mlp-widths", default="128,512")
    p.add_argument("--ship-widths", default="128", help="MLP widths saved in probes.safetensors")
    p.add_argument("--no-control", action="store_true", help="skip the random-init control model")
    p.add_argument("--no-li", action="store_true", help="skip Li et al.'s protocol")
    p.add_argument("--max-epochs", type=int, default=None,
                   help="cap every probe's epochs (quick runs; default: until converged, at most 12; Li: 16)")
    p.add_argument("--control-max-epochs", type=int, default=None,
                   help="cap the random-init control's epochs under our protocol (recorded in the report)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work-dir", default="runs/probe-suite",
                   help="activation stores and finished streams (a rerun resumes from them)")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None, help="folder (default: next to the model's weights)")
    p.set_defaults(func=cmd_probes_train)
    p = psub.add_parser("report", help="print the probe report")
    p.add_argument("--model", default="bundled")
    p.add_argument("--json", action="store_true")
    p.add_argument("--compare", action="store_true", help="the reproduction table against the published figures")
    p.set_defaults(func=cmd_probes_report)


def cmd_edits_sweep(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from othello_core.analysis.interventions import benchmark_rows, run_sweep
    from othello_core.analysis.service import ModelService

    start = time.time()
    service = ModelService.load(args.model)
    if service.probes is None:
        print(f"error: no probes for {args.model}: {service.probe_error}", file=sys.stderr)
        return 2
    rows, origin = benchmark_rows(args.synthetic, args.real, seed=args.seed)
    result = run_sweep(service, rows, origin, progress=lambda jobs: tqdm(jobs, desc="edit settings"),
                       seed=args.seed)
    result |= {"model": args.model, "seed": args.seed, "wall_time_s": round(time.time() - start, 1),
               "command": invocation()}
    out = artifact_folder(args.model) / "edit_sweep.json" if args.out is None else Path(args.out)
    out.write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result))
    else:
        for row in result["settings"]:
            print(f"{row['success_rate']:7.1%}  {row['mean_errors_nanda']:6.2f}  {row['name']}")
        print(f"wrote {out} in {result['wall_time_s']} s")
    return 0


def add_edit_commands(sub) -> None:
    edits = sub.add_parser("edits", help="intervention experiments")
    esub = edits.add_subparsers(dest="edits_command", required=True)
    p = esub.add_parser("sweep", help="the minimal-edit finder: success per layer/recipe + controls")
    p.add_argument("--model", default="bundled")
    p.add_argument("--synthetic", type=int, default=100, help="positions from synthetic games")
    p.add_argument("--real", type=int, default=100, help="positions from eOthello games")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON file (default: edit_sweep.json next to the probes)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_edits_sweep)


def cmd_findings(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from othello_core.reports.findings import STEPS, compute_findings
    from othello_core.analysis.service import ModelService

    service = ModelService.load(args.model)
    if service.probes is None or service.probe_report is None:
        print(f"error: findings need the probes and their report: {service.probe_error}", file=sys.stderr)
        return 2
    folder = artifact_folder(args.model)
    out = folder / "findings.json"
    only = tuple(args.only.split(",")) if args.only else STEPS
    unknown = set(only) - set(STEPS)
    if unknown:
        print(f"error: unknown findings {sorted(unknown)}: choose from {', '.join(STEPS)}", file=sys.stderr)
        return 2
    previous = json.loads(out.read_text()) if args.only and out.exists() else None
    result = compute_findings(service, folder, progress=lambda steps: tqdm(steps, desc="findings"),
                              games=args.games, late_game_games=args.late_game_games, only=only, previous=previous)
    result["command"] = invocation() if not args.only else (previous or {}).get("command", invocation())
    out.write_text(json.dumps(result, indent=1))
    for key in ("probes", "simpler_features", "late_game", "minimal_edit", "empty_square", "head_roles", "sae"):
        if result.get(key):
            print(f"[{key}] {result[key]['sentence']}")
    print(f"wrote {out} in {result.get('updated', result)['wall_time_s']} s")  # --only: this run's time
    return 0


def add_findings_command(sub) -> None:
    p = sub.add_parser("findings", help="regenerate findings.json: the answers, with numbers")
    p.add_argument("--model", default="bundled")
    p.add_argument("--games", type=int, default=400)
    p.add_argument("--late-game-games", type=int, default=3000,
                   help="games for the per-move-number probes of the late-game finding")
    p.add_argument("--only", default=None,
                   help="recompute these findings (comma-separated, e.g. 'probes,composition') and keep the rest")
    p.set_defaults(func=cmd_findings)


def cmd_card(args: argparse.Namespace) -> int:
    """Evaluate a run folder and write its model_card.md (+ eval figures into config.json)."""
    from othello_core.reports.model_card import write_card
    print(write_card(args.folder, name=args.name, games=args.games, device=args.device, reuse_eval=args.reuse_eval))
    return 0


def add_card_command(sub) -> None:
    p = sub.add_parser("card", help="evaluate a run folder and write its model card")
    p.add_argument("folder")
    p.add_argument("--name", default="bundled")
    p.add_argument("--games", type=int, default=10_000)
    p.add_argument("--device", default=None)
    p.add_argument("--reuse-eval", action="store_true",
                   help="keep the evaluation in config.json when it was made on these same weights")
    p.set_defaults(func=cmd_card)
