"""``transcoders report``: each layer's transcoder on held-out games, and the replacement model.

Per block: the explained variance of the MLP output, L0 and features that never fire (``layer_metrics``);
then the legal top-1 of the replacement model -- every MLP replaced by its transcoder, no error terms, so
each transcoder reads what the earlier transcoders wrote -- against the model alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from othello_core.analysis.transcoders.recipe import TRANSCODER_TEST_SEED, TranscoderRecipe, layer_file
from othello_core.analysis.transcoders.training import collect_mlp_io, layer_metrics, load_layer_io
from othello_core.analysis.transcoders.transcoder import Transcoder, load_transcoder
from othello_core.model.evaluate import evaluate
from othello_core.rules.games import GameBatch, random_games

REPORT_FILE = "report.json"
CONTROL_REPORT_FILE = "control_report.json"  # the random-init control's set, measured the same way (beside the shipped set)


def measurement_games(n: int, seed: int = TRANSCODER_TEST_SEED) -> GameBatch:
    """The held-out games every transcoder metric is measured on (never trained on)."""
    return random_games(n, seed=seed, labels=True)


def load_set(folder: Path | str, n_layers: int, device: str = "cpu") -> dict[int, Transcoder]:
    """Every block's transcoder in ``folder``; a missing layer is an error naming the command that makes it."""
    missing = [b for b in range(n_layers) if not layer_file(folder, b).exists()]
    if missing:
        raise FileNotFoundError(f"no transcoder for blocks {missing} in {folder}: run "
                                "`python -m othello_core transcoders train` (it resumes where it stopped)")
    return {b: load_transcoder(layer_file(folder, b), b, device) for b in range(n_layers)}


def replacement_hooks(transcoders: dict[int, Transcoder]) -> list[tuple[str, Callable]]:
    """TransformerLens hooks that replace each block's MLP output by its transcoder of the MLP's input."""
    hooks = []
    for block, transcoder in transcoders.items():
        seen = {}

        def keep_input(x, hook=None, seen=seen):  # noqa: ARG001
            seen["x"] = x

        def replace_output(out, hook=None, seen=seen, transcoder=transcoder):  # noqa: ARG001
            return transcoder(seen.pop("x").float()).to(out.dtype)

        hooks += [(TranscoderRecipe.input_hook(block), keep_input), (TranscoderRecipe.output_hook(block), replace_output)]
    return hooks


@torch.no_grad()
def measure_set(service, transcoders: dict[int, Transcoder], batch: GameBatch, scratch: Path | str,
                progress: Callable | None = None) -> dict:
    """The per-layer metrics and the replacement model's legal top-1 on ``batch``."""
    with service.locked() as model:
        collect_mlp_io(model, batch, scratch, service.hash, progress)
    layers = []
    for block, transcoder in transcoders.items():
        x, y = load_layer_io(scratch, block)
        layers.append({"block": block, "input_hook": TranscoderRecipe.input_hook(block),
                       "output_hook": TranscoderRecipe.output_hook(block), "d_transcoder": transcoder.d_transcoder,
                       "skip": transcoder.W_skip is not None, **layer_metrics(transcoder, x, y)})
    plain = evaluate(lambda t: service.run(t)[0], batch)
    replaced = evaluate(lambda t: service.run(t, fwd_hooks=replacement_hooks(transcoders))[0], batch)
    return {"layers": layers, "legal_top1_model": plain["legal_top1"], "legal_top1_replacement": replaced["legal_top1"],
            "positions": plain["positions"], "games": {"n": len(batch), "seed": TRANSCODER_TEST_SEED}}


def markdown_table(report: dict, control: dict | None = None) -> str:
    """The README's per-layer table of a set's ``report.json`` (``transcoders report --markdown`` prints it),
    with the random-init control's set beside it when given (its explained variance and live features)."""
    extra = " control: explained variance | control: features that fire |" if control else ""
    lines = ["| block | reads -> writes | features | explained variance | L0 | never fire (held-out) |" + extra,
             "| --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if control else "")]
    theirs = {layer["block"]: layer for layer in control["layers"]} if control else {}
    for layer in report["layers"]:
        other = theirs.get(layer["block"])
        beside = (f" {other['explained_variance']:.3f} | {other['d_transcoder'] - other['dead_features']:,} of "
                  f"{other['d_transcoder']:,} |" if other else (" | |" if control else ""))
        lines.append(f"| {layer['block']} | `{layer['input_hook']}` -> `{layer['output_hook']}` | "
                     f"{layer['d_transcoder']:,} | {layer['explained_variance']:.3f} | {layer['l0']:.1f} | "
                     f"{layer['dead_features']:,} |" + beside)
    tail = (f" legal top-1 {control['legal_top1_replacement']:.2%} (control alone {control['legal_top1_model']:.2%}) |"
            " |" if control else "")
    lines.append(f"| all 8 replaced, no error terms | legal top-1 {report['legal_top1_replacement']:.2%} "
                 f"(model alone {report['legal_top1_model']:.2%}) on {report['positions']:,} held-out positions | | | | |"
                 + tail)
    return "\n".join(lines)
