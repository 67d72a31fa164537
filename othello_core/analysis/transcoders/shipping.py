"""The shipped transcoder set: layer files (8-bit rows with float16 scales, or float16), each layer's
training record, and circuit-tracer's ``config.yaml`` (``export_for_circuit_tracer`` writes the float16 files it
loads as they are). Eight 4,096-feature layers of the paper-size model are 67 MB in float16; features that never
fire on held-out inputs can be dropped first (``ship_set(validation=...)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from othello_core.analysis.transcoders.recipe import FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK, layer_file
from othello_core.analysis.transcoders.transcoder import Transcoder, load_transcoder, save_quantized, save_transcoder

CONFIG_FILE = "config.yaml"


def _blocks(folder: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("layer_*.safetensors"))


def _scan(folder: Path, block: int) -> str:
    """The set's name for circuit-tracer: the model its layer was trained on."""
    return json.loads(layer_file(folder, block).with_suffix(".json").read_text()).get("model", "othello-gpt")


def circuit_tracer_config(paths: list[str], scan: str) -> str:
    """circuit-tracer's ``config.yaml`` of a transcoder set (plain YAML: no PyYAML needed to write it).

    >>> print(circuit_tracer_config(["layer_0.safetensors"], "bundled"))
    model_kind: transcoder_set
    feature_input_hook: mlp.hook_in
    feature_output_hook: mlp.hook_out
    scan: bundled
    transcoders:
    - layer_0.safetensors
    <BLANKLINE>
    """
    lines = ["model_kind: transcoder_set", f"feature_input_hook: {FEATURE_INPUT_HOOK}",
             f"feature_output_hook: {FEATURE_OUTPUT_HOOK}", f"scan: {scan}", "transcoders:"]
    return "\n".join(lines + [f"- {p}" for p in paths]) + "\n"


def fired_features(transcoder: Transcoder, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """``[d_transcoder]`` bool: the features that fire at least once on ``x``."""
    fired = torch.zeros(transcoder.d_transcoder, dtype=torch.bool)
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            fired |= (transcoder.encode(x[start:start + chunk].float()) > 0).any(0)
    return fired


def keep_features(transcoder: Transcoder, index: torch.Tensor) -> Transcoder:
    """The transcoder reduced to the features ``index`` (the skip connection and biases unchanged)."""
    return Transcoder(transcoder.W_enc[index].detach(), transcoder.b_enc[index].detach(), transcoder.W_dec[index].detach(),
                      transcoder.b_dec.detach(), transcoder.threshold[index].detach(),
                      None if transcoder.W_skip is None else transcoder.W_skip.detach(), transcoder.block)


def alive_width(fired: dict[int, torch.Tensor]) -> int:
    """The common width that keeps every layer's fired features (circuit-tracer needs one width for all)."""
    return int(max(int(f.sum()) for f in fired.values()))


def ship_set(run: Path | str, out: Path | str, validation: dict[int, torch.Tensor] | None = None,
             quantize: bool = True) -> dict:
    """Every layer of ``run`` into ``out`` (8-bit rows, or float16 with ``quantize=False``) with its training
    record and circuit-tracer's config. With ``validation`` (per block, MLP inputs the transcoder was not trained
    on), features that never fire there are dropped: every layer keeps its fired features, padded with unfired
    ones to one common width. Returns what was kept per block."""
    run, out = Path(run), Path(out)
    blocks = _blocks(run)
    if not blocks:
        raise FileNotFoundError(f"no layer_L.safetensors in {run}: run `python -m othello_core transcoders train`")
    out.mkdir(parents=True, exist_ok=True)
    layers = {b: load_transcoder(layer_file(run, b), b) for b in blocks}
    kept = {}
    if validation is not None:
        fired = {b: fired_features(layers[b], validation[b]) for b in blocks}
        width = alive_width(fired)
        for b in blocks:
            order = torch.argsort((~fired[b]).to(torch.int8), stable=True)  # fired features first, in index order
            index = torch.sort(order[:width]).values
            layers[b] = keep_features(layers[b], index)
            kept[b] = {"fired": int(fired[b].sum()), "width": width, "of": int(fired[b].numel())}
    for block, transcoder in layers.items():
        (save_quantized if quantize else save_transcoder)(transcoder, layer_file(out, block))
        info = json.loads(layer_file(run, block).with_suffix(".json").read_text())
        info["shipped"] = {"quantized": "int8 rows + float16 scales" if quantize else "float16", **kept.get(block, {})}
        layer_file(out, block).with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
    (out / CONFIG_FILE).write_text(circuit_tracer_config([layer_file(out, b).name for b in blocks], _scan(run, blocks[0])))
    return kept


def export_for_circuit_tracer(folder: Path | str, out: Path | str) -> Path:
    """Full-precision (float16) copies of a shipped set in circuit-tracer's own layout, loadable by its
    ``load_transcoder_set`` / ``load_relu_transcoder`` as they are."""
    folder, out = Path(folder), Path(out)
    blocks = _blocks(folder)
    for block in blocks:
        save_transcoder(load_transcoder(layer_file(folder, block), block), layer_file(out, block))
    (out / CONFIG_FILE).write_text(circuit_tracer_config([str(layer_file(out, b)) for b in blocks],
                                                         _scan(folder, blocks[0])))
    return out
