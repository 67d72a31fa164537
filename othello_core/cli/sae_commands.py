"""``python -m othello_core sae train|report``: the SAE commands.

Building the parser imports neither torch nor SAELens: each command imports what it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from othello_core.cli.model_commands import add_dataclass_flags, dictionary_flags, invocation
from othello_core.paths import artifact_folder
from othello_core.analysis.sae.recipe import SAERecipe, flag_specs, sae_folder


def _recipe(args: argparse.Namespace) -> SAERecipe:
    return SAERecipe(**{name: getattr(args, name) for name, _, _ in flag_specs()})


def _models(args: argparse.Namespace):
    """(model name, model, its weights hash) of the trained model or its random-init control."""
    from othello_core.model.hooked_transformer import load_model
    from othello_core.model.weights import ModelShape, model_hash
    from othello_core.analysis.probe_suite import CONTROL_SEED, control_model
    model = load_model(args.model, device=args.device)
    if args.control:
        model = control_model(ModelShape.from_state_dict(model.state_dict()), device=args.device)
        return f"{args.model} random-init control (seed {CONTROL_SEED})", model, model_hash(model)
    return args.model, model, model_hash(model)


def _folder(args: argparse.Namespace, hook: str) -> Path:
    return Path(args.out) if args.out else sae_folder(artifact_folder(args.model), hook, args.control)


def _tqdm(items, desc: str = "", total: int | None = None):
    from tqdm import tqdm
    return tqdm(items, desc=desc, total=total, file=sys.stderr)


def _activations(args: argparse.Namespace, model, recipe: SAERecipe, digest: str):
    """``(activations, seconds their collection took)``: read from ``--acts-cache`` when it exists (checked
    to be this model's stream on these games), else collected, and written there when a path is given."""
    import torch

    from othello_core.analysis.sae.training import collect_recipe
    cache = Path(args.acts_cache) if args.acts_cache else None
    if cache is not None and cache.exists():
        saved = torch.load(cache)
        if (saved["hash"], saved["games"], saved["seed"], saved.get("hook")) != (digest, recipe.games, recipe.seed,
                                                                                recipe.hook):
            raise SystemExit(f"{cache} holds activations of another model, stream or game set: delete it")
        return saved["acts"], float(saved["seconds"])
    acts, seconds = collect_recipe(model, recipe, _tqdm)
    if cache is not None:  # kept for the next run (another recipe, the comparison)
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"acts": acts, "seconds": seconds, "games": recipe.games, "seed": recipe.seed, "hash": digest,
                    "hook": recipe.hook}, cache)
    return acts, seconds


def cmd_sae_train(args: argparse.Namespace) -> int:
    from othello_core.analysis.sae.training import run_recipe
    recipe = _recipe(args)
    name, model, digest = _models(args)
    acts, collect_s = _activations(args, model, recipe, digest)
    folder = _folder(args, recipe.hook)
    info = run_recipe(model, recipe, folder, name, digest, progress=_tqdm, acts=acts, collect_s=collect_s)
    print(json.dumps(info, indent=1) if args.json else
          f"SAE on {recipe.hook} of {name}: {info['tokens']:,} tokens, {info['training_samples']:,} samples, "
          f"collect {info['collect_tokens_per_s']:,.0f} tokens/s, train {info['train_tokens_per_s']:,.0f} "
          f"tokens/s, {info['wall_s'] / 60:.1f} min -> {folder}")
    return 0


def cmd_sae_report(args: argparse.Namespace) -> int:
    from othello_core.analysis.service import ModelService
    from othello_core.analysis.sae.report import (
        REPORT_FILE, markdown_table, measure_sae, measurement_games, save_top_positions, top_positions,
    )
    from othello_core.analysis.sae.training import load_sae, read_training_info
    hook = SAERecipe(stream=args.stream).hook
    if args.markdown:  # the stored reports, trained beside control: no measuring
        stored = [sae_folder(artifact_folder(args.model), hook, control=c) / REPORT_FILE for c in (False, True)]
        trained, control = (json.loads(p.read_text()) if p.exists() else None for p in stored)
        if trained is None:
            raise SystemExit(f"no report at {stored[0]}: run `python -m othello_core sae report` first")
        print(markdown_table(trained, control))
        return 0
    if args.control:  # the random-init model has no probes
        name, model, digest = _models(args)
        service = ModelService(model, name, weights_hash=digest)
    else:  # the trained model's service carries its probes: the report sets them beside the SAE
        service = ModelService.load(args.model, device=args.device)
        name = service.name
    folder = _folder(args, hook)
    sae = load_sae(folder, device=service.device)
    info = read_training_info(folder)
    trained_on = info["recipe"]["stream"]
    if trained_on != args.stream:
        raise SystemExit(f"the SAE in {folder} was trained on stream {trained_on}, not {args.stream}: "
                         f"pass --stream {trained_on}")
    if info.get("model_hash") not in (None, service.hash):  # e.g. an SAE of earlier weights, or a device run's
        raise SystemExit(f"the SAE in {folder} was trained on weights {info['model_hash']}, not {name}'s "
                         f"({service.hash}): train one on these (`python -m othello_core sae train`) or measure it "
                         "on the model it was trained on")
    batch = measurement_games(args.games)
    report, feats, pick = measure_sae(service, sae, hook, args.stream,
                                      batch, progress=_tqdm, splice_games=args.splice_games)
    report["training"] = info
    report["hook"], report["model"] = hook, name
    (folder / REPORT_FILE).write_text(json.dumps(report) + "\n")
    if not args.control:
        save_top_positions(top_positions(feats, pick, batch), folder)
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k not in ("properties", "features", "positives")},
                         indent=1))
    else:
        print("\n".join(summary_lines(report)))
    return 0


def cmd_sae_compare(args: argparse.Namespace) -> int:
    import time

    from othello_core.analysis.sae.compare import CANDIDATES, CHOICE_FILE, SPARSE_CANDIDATES, choose, compare
    from othello_core.analysis.sae.recipe import KARVONEN_HELD_OUT_SEED
    from othello_core.analysis.sae.report import measurement_games
    from othello_core.analysis.service import ModelService
    recipe = _recipe(args)
    name, model, digest = _models(args)
    start = time.time()
    acts, _ = _activations(args, model, recipe, digest)
    karvonen = None
    if args.karvonen_games:
        karvonen = (measurement_games(args.karvonen_games),
                    measurement_games(args.karvonen_games, seed=KARVONEN_HELD_OUT_SEED))
    rows = compare(ModelService(model, name, weights_hash=digest), acts, recipe, measurement_games(args.measure_games),
                   tokens=args.tokens, epochs=args.compare_epochs,
                   candidates=SPARSE_CANDIDATES if args.candidates == "sparse" else CANDIDATES,
                   on_row=lambda row: print(_compare_line(row), flush=True), karvonen_games=karvonen)
    out = {"rows": rows, "chosen": choose(rows)["candidate"], "seconds": round(time.time() - start, 1),
           "command": invocation(), "test_games": args.measure_games, "karvonen_games": args.karvonen_games}
    folder = Path(args.choice_out) if args.choice_out else _folder(args, recipe.hook)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CHOICE_FILE).write_text(json.dumps(out, indent=1) + "\n")
    print(f"chosen: {out['chosen']}")
    return 0


def _compare_line(row: dict) -> str:
    line = (f"{row['candidate']}: explained variance {row['explained_variance']:.4f}, L0 {row['l0']:.1f}, "
            f"dead {row['dead_features']}, legal top-1 spliced {row['legal_top1_spliced']:.4%}, "
            f"coverage {row['coverage']:.3f}, reconstruction F1 {row['reconstruction_f1']:.3f}")
    if "karvonen" in row:
        line += (f"; Karvonen board coverage {row['karvonen']['board']['coverage']:.3f}, reconstruction "
                 f"{row['karvonen']['board']['reconstruction']:.3f}")
    return line + f" [{row['train_s']:.0f} s training]"


def cmd_sae_karvonen(args: argparse.Namespace) -> int:
    import time

    import torch

    from othello_core.analysis.probe_suite import CONTROL_SEED, control_model
    from othello_core.analysis.sae.karvonen import KARVONEN_FILE, PUBLISHED, baseline_rows, measure_features
    from othello_core.analysis.sae.recipe import KARVONEN_HELD_OUT_SEED
    from othello_core.analysis.sae.report import measurement_games
    from othello_core.analysis.sae.training import load_sae
    from othello_core.model.hooked_transformer import load_model
    from othello_core.model.weights import ModelShape
    from othello_core.rules.hooks import mlp_post
    if args.markdown:
        from othello_core.analysis.sae.karvonen import markdown
        stored = sae_folder(artifact_folder(args.model), SAERecipe().hook) / KARVONEN_FILE
        if not stored.exists():
            raise SystemExit(f"no {stored}: run `python -m othello_core sae karvonen` first")
        print(markdown(json.loads(stored.read_text())))
        return 0
    start = time.time()
    model = load_model(args.model, device=args.device)
    control = control_model(ModelShape.from_state_dict(model.state_dict()), device=args.device)
    hook = SAERecipe().hook
    fit, test = measurement_games(args.games), measurement_games(args.games, seed=KARVONEN_HELD_OUT_SEED)
    folder = _folder(args, hook)  # --out: an SAE trained elsewhere (its karvonen.json is written beside it)
    identity = lambda x: x  # noqa: E731 (neurons are their own features)
    jobs = [(model, "SAE (trained model)", hook, load_sae(folder).encode)]
    control_sae = sae_folder(artifact_folder(args.model), hook, control=True)
    if (control_sae / "sae_weights.safetensors").exists():
        jobs.append((control, f"SAE (random-init control, seed {CONTROL_SEED})", hook, load_sae(control_sae).encode))
    blocks = range(model.cfg.n_layers) if args.all_blocks else [5]
    jobs += [(model, f"MLP neurons, block {b}", mlp_post(b), identity) for b in blocks]
    jobs.append((control, f"MLP neurons, block 5, random-init control (seed {CONTROL_SEED})", mlp_post(5), identity))
    kept = {}
    if args.reuse_neurons and (folder / KARVONEN_FILE).exists():  # neurons do not change with the SAE: keep their rows
        old = json.loads((folder / KARVONEN_FILE).read_text())
        if old["games"] == {"fitting": args.games, "held_out": args.games}:
            kept = {r["name"]: r for r in old["rows"] if r["hook"].endswith("mlp.hook_post")}
    rows = []
    for model_, name, hook_, encode in jobs:
        if name in kept:
            rows.append(kept[name])
            continue
        with torch.no_grad():
            rows.append(measure_features(model_, name, hook_, encode, fit, test))
        r = rows[-1]
        print(f"{name} ({hook_}): board coverage {r['board']['coverage']['value']:.3f}, reconstruction "
              f"{r['board']['reconstruction']['value']:.3f}; legal {r['legal']['coverage']['value']:.3f} / "
              f"{r['legal']['reconstruction']['value']:.3f} [{time.time() - start:.0f} s]", flush=True)
    rows += baseline_rows(fit, test)  # features that know no board: what coverage grants for nothing
    out = {"rows": rows, "published": PUBLISHED, "games": {"fitting": args.games, "held_out": args.games},
           "control_sae": "measured" if len(jobs) > len(blocks) + 2 else
           "not measured: its weights are not shipped (`python -m othello_core sae train --control` recreates them)",
           "command": invocation(), "wall_s": round(time.time() - start, 1)}
    (folder / KARVONEN_FILE).write_text(json.dumps(out, indent=1) + "\n")
    return 0


def summary_lines(report: dict) -> list[str]:
    r, s, b = report["reconstruction"], report["splice"], report["board"]
    return [f"{report['model']} · {report['hook']} · {r['d_sae']} features",
            f"explained variance {r['explained_variance']:.4f}, L0 {r['l0']:.1f}, "
            f"dead {r['dead_features']}, dense {r['dense_features']}",
            f"legal top-1 {s['legal_top1_plain']:.4%} plain, {s['legal_top1_spliced']:.4%} with the SAE spliced",
            f"coverage {b['coverage']:.3f} (threshold {b['coverage_threshold']}), board reconstruction F1 "
            f"{b['reconstruction_f1']:.3f} (threshold {b['reconstruction_threshold']})"]


def add_sae_commands(sub) -> None:
    p = sub.add_parser("sae", help="sparse autoencoders (SAELens): train, report")
    sae_sub = p.add_subparsers(dest="sae_command", required=True)
    common = dictionary_flags("the SAE folder (default: beside the model's weights)")

    t = sae_sub.add_parser("train", parents=[common], help="train an SAE with SAELens (progress on stderr)")
    add_dataclass_flags(t, flag_specs())
    t.add_argument("--acts-cache", default=None,
                   help="a .pt of collected activations: read when it exists (checked: model, games, hook), else written")
    t.set_defaults(func=cmd_sae_train)

    c = sae_sub.add_parser("compare", parents=[common], help="choose the architecture: candidates trained and measured alike")
    add_dataclass_flags(c, flag_specs())
    c.add_argument("--acts-cache", default=None, help="a .pt of collected activations to reuse")
    c.add_argument("--tokens", type=int, default=100_000, help="training tokens per candidate")
    c.add_argument("--compare-epochs", type=int, default=2)
    c.add_argument("--measure-games", type=int, default=150, help="held-out games each candidate is measured on")
    c.add_argument("--candidates", choices=("original", "sparse"), default="original",
                   help="original: TopK k=32/64 and ReLU+L1; sparse: TopK, BatchTopK, Matryoshka BatchTopK at --k")
    c.add_argument("--karvonen-games", type=int, default=0,
                   help="also Karvonen's metrics, on this many fitting and as many held-out games (0: not measured)")
    c.add_argument("--choice-out", default=None, help="folder for architecture_choice.json (default: the SAE folder)")
    c.set_defaults(func=cmd_sae_compare)

    k = sae_sub.add_parser("karvonen", parents=[common],
                           help="Karvonen et al.'s coverage and board reconstruction: the SAE, its control, MLP neurons")
    k.add_argument("--games", type=int, default=1000, help="fitting games, and as many held-out games")
    k.add_argument("--markdown", action="store_true", help="print the README's table from the stored karvonen.json")
    k.add_argument("--all-blocks", action=argparse.BooleanOptionalAction, default=True,
                   help="MLP neurons of every block (else block 5 only)")
    k.add_argument("--reuse-neurons", action="store_true",
                   help="keep the neuron rows of the stored karvonen.json (same games): only the SAEs are measured")
    k.set_defaults(func=cmd_sae_karvonen)

    r = sae_sub.add_parser("report", parents=[common], help="measure an SAE on held-out games")
    r.add_argument("--stream", type=int, default=SAERecipe().stream)
    r.add_argument("--games", type=int, default=600)
    r.add_argument("--splice-games", type=int, default=None, help="games for the spliced legal top-1 (all)")
    r.add_argument("--markdown", action="store_true", help="print the README's table from the stored reports (trained beside control), measuring nothing")
    r.set_defaults(func=cmd_sae_report)
