"""Probes at the paper's scale, with a random-init control and Li et al.'s protocol beside ours.

``run_suite(model, SuiteConfig())`` is what ``python -m othello_core probes train`` runs:

1. *Our protocol*: every position of ``train_games`` synthetic games (held out by game:
   ``test_games`` other games), every stream, every kind (``probes.train_probes``), each probe
   trained until its held-out accuracy stops moving (``probes.FitSettings``).
2. *The control*: a model of the same shape, randomly initialised from ``CONTROL_SEED``
   (recreated from the seed; its weights hash is recorded, never its weights), probed the same way.
3. *Li et al.'s protocol*: every position of ``li_games`` eOthello (championship) games, a random
   80/20 split by position, colour probes (linear and MLP width 512, 16 epochs, lr 1e-3, batch
   1024: ``probes.LI_FIT``), for the model and for the control.

Activations go to disk-backed float16 stores under ``work_dir`` (``activation_store``), one stream
in memory at a time; every finished stream's probes are saved there too, so an interrupted run
resumes where it stopped. ``compare_table(report)`` sets each row beside the published figures
(``PUBLISHED``).
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from othello_core.analysis.activation_store import ActivationStore, is_complete, write_store
from othello_core.analysis.probes import LI_FIT, LINEAR_FIT, MLP_FIT, MLP_WIDTHS, FitSettings, ProbeSet, _row, fit_linear, fit_mlp, kind_targets, train_probes
from othello_core.model.hooked_transformer import build_model
from othello_core.rules.hooks import published_stream_label
from othello_core.model.weights import ModelShape, state_dict_hash
from othello_core.rules.games import GameBatch, load_eothello, random_games, replay_batch

CONTROL_SEED = 20_231_002  # the random-init control model: build_model(shape, seed=CONTROL_SEED)
LI_WIDTH = 512

# Published figures, per stream, in the papers' columns x (the embedding), L1..L8 = our streams 0..8
# (their L6 is after L5: published_stream_label).
# Li et al. 2023 (ICLR), Table 2: probe error %, colour basis, MLP width 512, championship data.
# Hazineh et al. 2023, Table 1: linear probe accuracy %, layers 1..8 (no embedding column).
PUBLISHED = {
    "li_nonlinear_synthetic": {"source": "Li et al. 2023, Table 2", "metric": "error",
                               "values": [30.7, 11.3, 7.5, 4.9, 3.4, 2.5, 1.8, 1.77, 4.5]},
    "li_linear_synthetic": {"source": "Li et al. 2023, Table 2", "metric": "error",
                            "values": [33.2, 24.1, 23.7, 23.6, 23.6, 23.6, 23.7, 23.8, 24.2]},
    "li_nonlinear_random": {"source": "Li et al. 2023, Table 2", "metric": "error",
                            "values": [38.4, 25.5, 25.4, 25.6, 25.9, 26.0, 26.2, 26.3, 26.5]},
    "li_linear_random": {"source": "Li et al. 2023, Table 2", "metric": "error",
                         "values": [38.4, 26.7, 27.2, 27.6, 27.9, 28.2, 28.5, 28.7, 28.8]},
    "hazineh_linear_mine_yours": {"source": "Hazineh et al. 2023, Table 1", "metric": "accuracy",
                                  "values": [None, 90.8, 94.8, 97.1, 98.3, 99.1, 99.5, 99.5, 99.5]},
    "hazineh_linear_black_white": {"source": "Hazineh et al. 2023, Table 1", "metric": "accuracy",
                                   "values": [None, 75.7, 75.8, 75.7, 75.7, 75.6, 75.4, 74.9, 74.9]},
}


@dataclass(frozen=True)
class SuiteConfig:
    train_games: int = 6000
    test_games: int = 1000
    games_seed: int = 10_000
    mlp_widths: tuple[int, ...] = MLP_WIDTHS
    ship_widths: tuple[int, ...] = (128,)  # MLP widths kept in probes.safetensors (size budget)
    li_games: int = 3000
    li_test_fraction: float = 0.2
    li_seed: int = 0
    control: bool = True
    li: bool = True
    seed: int = 0
    max_epochs: int | None = None  # a cap for quick runs; None: the settings' own (12, Li: 16)
    control_max_epochs: int | None = None  # a cap for the control under our protocol only (stated in the report)

    def fits(self) -> tuple[FitSettings, FitSettings, FitSettings]:
        """(linear, MLP, Li) fit settings, capped at ``max_epochs`` when set."""
        cap = (lambda f: f) if self.max_epochs is None else (lambda f: replace(f, max_epochs=self.max_epochs))
        return cap(LINEAR_FIT), cap(MLP_FIT), cap(LI_FIT)


def control_model(shape, device: str | None = None, seed: int = CONTROL_SEED):
    """The random-init control: the same shape, initialised by TransformerLens from ``seed``."""
    return build_model(shape, device=device, seed=seed)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _split(batch: GameBatch, at: int) -> tuple[GameBatch, GameBatch]:
    return tuple(GameBatch(batch.squares[s], batch.lengths[s], {k: v[s] for k, v in batch.labels.items()})
                 for s in (slice(0, at), slice(at, None)))


def _store(model, digest: str, batch: GameBatch, folder: Path, progress: Callable | None, desc: str):
    if is_complete(folder, digest, len(batch)):
        return ActivationStore(folder)
    steps = lambda it: progress(it, desc=desc) if progress else it  # noqa: E731
    return write_store(model, batch, folder, digest, progress=steps)


def _stream_cache(folder: Path) -> Callable:
    """``stream_done(stream, result)`` for ``train_probes``: returns a saved result, saves a new one."""
    folder.mkdir(parents=True, exist_ok=True)

    def done(stream: int, result):
        path = folder / f"stream_{stream:02d}.pt"
        if result is None:
            return torch.load(path, weights_only=False) if path.exists() else None
        torch.save(result, path)
        return result
    return done


def li_protocol(store: ActivationStore, test_fraction: float = 0.2, seed: int = 0, width: int = LI_WIDTH,
                settings: FitSettings = LI_FIT, device: str = "cpu", progress: Callable | None = None, cache: Callable | None = None) -> dict:
    """Li et al.'s setting on ``store``: a random split by position, linear and MLP colour probes
    trained for ``settings.max_epochs`` epochs (``LI_FIT``: 16). Returns report sections ``linear`` / ``mlp``."""
    order = np.random.default_rng(seed).permutation(store.n_rows)
    n_test = int(round(store.n_rows * test_fraction))
    test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])
    y_all = torch.as_tensor(kind_targets(store.labels, "black_white"))
    y, y_test = y_all[train_rows].to(device), y_all[test_rows].to(device)
    positions = store.position[test_rows]
    linear_rows, mlp_rows = [], []
    for stream in range(store.n_streams):
        result = cache(stream, None) if cache else None
        if result is None:
            x, x_test = (store.stream(stream, rows)[None].to(device) for rows in (train_rows, test_rows))
            name = "embed" if stream == 0 else f"L{stream}"
            lin = fit_linear(x, y, 3, settings, seed, (x_test, y_test), progress, f"Li {name} linear")
            mlp = fit_mlp(x, y, 3, width, settings, seed, (x_test, y_test), progress, f"Li {name} MLP-{width}")
            probe = ProbeSet("", 1, linear={"black_white": lin.params}, mlp={("black_white", width): mlp.params})
            result = {"linear": _row(lin, probe.linear_probs("black_white", x_test).cpu(), y_test.cpu(), positions),
                      "mlp": _row(mlp, probe.mlp_probs("black_white", width, x_test).cpu(), y_test.cpu(), positions)}
            if cache:
                cache(stream, result)
        linear_rows.append(result["linear"])
        mlp_rows.append(result["mlp"])
    return {"samples": {"train": len(train_rows), "test": len(test_rows)},
            "linear": {"black_white": linear_rows}, "mlp": {"black_white": {str(width): mlp_rows}}}


def _protocol_text(cfg: SuiteConfig) -> dict:
    linear_fit, _, li_fit = cfg.fits()
    return {
        "ours": (f"synthetic games, every position; {cfg.train_games:,} training games, {cfg.test_games:,} "
                 "other games held out; each probe trained until held-out accuracy moves < 0.1 point over 2 "
                 f"epochs (at most {linear_fit.max_epochs})"),
        "li": (f"eOthello games ({cfg.li_games:,}), every position, random {1 - cfg.li_test_fraction:.0%}/"
               f"{cfg.li_test_fraction:.0%} split by position; width {LI_WIDTH}, {li_fit.max_epochs} epochs, "
               f"lr {li_fit.lr:g}, batch {li_fit.batch}"),
    }


def run_suite(model, cfg: SuiteConfig, work_dir: Path | str, model_hash: str, progress: Callable | None = None,
              log: Callable[[str], None] = print,
              checkpoint: Callable[[ProbeSet, dict], None] | None = None) -> tuple[ProbeSet, dict]:
    """Every probe of the suite; returns the model's probes (to ship) and the full report.

    Stages, in order: our protocol on the model, Li's on the model, Li's on the control, ours on
    the control. ``checkpoint(probes, report)`` is called after each with the report so far."""
    start = time.time()
    work = Path(work_dir)
    device = str(next(model.parameters()).device)
    shape = ModelShape.from_state_dict(model.state_dict())
    games = random_games(cfg.train_games + cfg.test_games, seed=cfg.games_seed + cfg.seed, labels=True)
    train_games, test_games = _split(games, cfg.train_games)
    timings: dict[str, float] = {}
    linear_fit, mlp_fit, li_fit = cfg.fits()

    def timed(name: str, fn: Callable):
        t0 = time.time()
        out = fn()
        timings[name] = round(time.time() - t0, 1)
        log(f"{name}: {timings[name]} s; peak RSS {peak_rss_mb()} MB")
        return out

    def ours(net, digest: str, tag: str, features: bool, cap: int | None = None):
        train = timed(f"{tag}_activations_train_s", lambda: _store(
            net, digest, train_games, work / tag / "train", progress, f"{tag} activations (train)"))
        test = timed(f"{tag}_activations_test_s", lambda: _store(
            net, digest, test_games, work / tag / "test", progress, f"{tag} activations (test)"))
        fits = (linear_fit, mlp_fit) if cap is None else (replace(linear_fit, max_epochs=min(cap, linear_fit.max_epochs)),
                                                          replace(mlp_fit, max_epochs=min(cap, mlp_fit.max_epochs)))
        return timed(f"{tag}_probes_s", lambda: train_probes(
            train, test, digest, cfg.mlp_widths, cfg.ship_widths, *fits, cfg.seed, device=device,
            progress=progress, features=features, stream_done=_stream_cache(work / tag / (f"probes-{digest}" + (f"-cap{cap}" if cap else "")))))

    def li(net, digest: str, tag: str):
        squares = load_eothello().squares
        order = np.random.default_rng(cfg.li_seed).permutation(len(squares))[:cfg.li_games]
        real = replay_batch(squares[np.sort(order)], labels=True)
        store = timed(f"{tag}_activations_eothello_s", lambda: _store(
            net, digest, real, work / tag / f"eothello-{cfg.li_games}-{cfg.li_seed}", progress,
            f"{tag} activations (eOthello)"))
        return timed(f"{tag}_li_s", lambda: li_protocol(
            store, cfg.li_test_fraction, cfg.li_seed, settings=li_fit, device=device, progress=progress,
            cache=_stream_cache(work / tag / f"li-{cfg.li_games}-{cfg.li_seed}-{digest}")))

    def finish(report: dict) -> dict:
        report["published"] = PUBLISHED
        report["timings_s"] = dict(timings)
        report["device"] = device
        report["peak_rss_mb"] = peak_rss_mb()
        report["wall_time_s"] = round(time.time() - start, 1)
        if checkpoint:
            checkpoint(probes, report)
        return report

    probes, report = ours(model, model_hash, "model", features=True)
    report |= {"games": {"train": cfg.train_games, "test": cfg.test_games}, "protocol": _protocol_text(cfg),
               "suite": asdict(cfg)}
    finish(report)
    control = digest = None
    if cfg.control or cfg.li:
        control = control_model(shape, device=device)
        digest = state_dict_hash(control.state_dict())
    if cfg.li:
        report["li_protocol"] = {"protocol": report["protocol"]["li"], "model": li(model, model_hash, "model")}
        finish(report)
        if cfg.control:
            report["li_protocol"]["control"] = li(control, digest, "control")
            finish(report)
    if cfg.control:
        _, control_report = ours(control, digest, "control", features=False, cap=cfg.control_max_epochs)
        report["control"] = {"seed": CONTROL_SEED, "weights_hash": digest, "fit": control_report["fit"],
                             "recreate": f"othello_core.analysis.probe_suite.control_model(shape, seed={CONTROL_SEED})"} | {
            key: control_report[key] for key in ("linear", "mlp", "linear_span", "baseline")}
    return probes, finish(report)


# --- reading the report ------------------------------------------------------------------------

def _errors(rows: list[dict]) -> list[float]:
    return [round(100 * (1 - r["cell_accuracy"]), 2) for r in rows]


def _accuracies(rows: list[dict], metric: str = "cell_accuracy") -> list[float | None]:
    return [None if r.get(metric) is None else round(100 * r[metric], 2) for r in rows]


def compare_table(report: dict) -> list[dict]:
    """The reproduction table: per published row, ours beside it per stream and the difference
    (ours - published, in the published row's metric, percentage points). Rows whose data the
    report lacks are left out."""
    li = report.get("li_protocol", {})
    width = str(LI_WIDTH)
    ours = {
        "li_nonlinear_synthetic": (li.get("model", {}).get("mlp", {}).get("black_white", {}).get(width),
                                   "error", "li", "MLP-512 colour, the model"),
        "li_linear_synthetic": (li.get("model", {}).get("linear", {}).get("black_white"),
                                "error", "li", "linear colour, the model"),
        "li_nonlinear_random": (li.get("control", {}).get("mlp", {}).get("black_white", {}).get(width),
                                "error", "li", "MLP-512 colour, random-init control"),
        "li_linear_random": (li.get("control", {}).get("linear", {}).get("black_white"),
                             "error", "li", "linear colour, random-init control"),
        "hazineh_linear_mine_yours": (report.get("linear_span", {}).get("mine_theirs"), "span_accuracy", "ours",
                                      "linear mine/theirs, moves 6-54, the model"),
        "hazineh_linear_black_white": (report.get("linear_span", {}).get("black_white"), "span_accuracy", "ours",
                                       "linear colour, moves 6-54, the model"),
    }
    table = []
    for key, (rows, metric, protocol, label) in ours.items():
        if not rows:
            continue
        published = PUBLISHED[key]
        mine = _errors(rows) if metric == "error" else _accuracies(rows, metric)
        diff = [None if p is None or m is None else round(m - p, 2) for m, p in zip(mine, published["values"])]
        table.append({"row": key, "label": label, "published_source": published["source"],
                      "metric": published["metric"], "protocol": report.get("protocol", {}).get(protocol, protocol),
                      "ours": mine, "published": published["values"], "difference": diff})
    return table


def compare_records(table: list[dict]) -> list[dict]:
    """``compare_table`` flattened for a table view: three records (ours, published, difference) per
    comparison, one column per stream (``published_stream_label``: after L5 (Li L6), ...)."""
    records = []
    for row in table:
        names = [published_stream_label(s) for s in range(len(row["ours"]))]
        unit = "error %" if row["metric"] == "error" else "accuracy %"
        for series in ("ours", "published", "difference"):
            who = {"ours": "this project", "published": row["published_source"], "difference": "ours − published"}[series]
            records.append({"comparison": f"{row['label']} ({unit})", "row": who} | dict(zip(names, row[series])))
    return records


def compare_lines(report: dict) -> list[str]:
    """``compare_table`` as text (``probes report --compare``)."""
    names = [published_stream_label(s) for s in range(len(report["layers"]))]
    lines = []
    for row in compare_table(report):
        unit = "error %" if row["metric"] == "error" else "accuracy %"
        lines.append(f"{row['label']} ({unit}) vs {row['published_source']} [{row['protocol']}]")
        lines.append("           " + " ".join(f"{n:>6}" for n in names))
        for label in ("ours", "published", "difference"):
            lines.append(f"{label:>10} " + " ".join("     -" if v is None else f"{v:>6.2f}" for v in row[label]))
        lines.append("")
    return lines
