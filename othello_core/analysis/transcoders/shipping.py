"""The shipped transcoder set: 8-bit layer files (rows with float16 scales), each layer's training record,
and circuit-tracer's ``config.yaml`` (``export_for_circuit_tracer`` writes the full-precision files it loads).

Eight 4,096-feature layers of the paper-size model are 67 MB in float16; 8-bit rows keep them near 34 MB.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from othello_core.analysis.transcoders.recipe import FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK, layer_file
from othello_core.analysis.transcoders.transcoder import load_transcoder, save_quantized, save_transcoder

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


def ship_set(run: Path | str, out: Path | str) -> Path:
    """Quantize every layer of ``run`` into ``out`` with its training record and ``report.json`` if present."""
    run, out = Path(run), Path(out)
    blocks = _blocks(run)
    if not blocks:
        raise FileNotFoundError(f"no layer_L.safetensors in {run}: run `python -m othello_core transcoders train`")
    out.mkdir(parents=True, exist_ok=True)
    for block in blocks:
        save_quantized(load_transcoder(layer_file(run, block), block), layer_file(out, block))
        shutil.copy(layer_file(run, block).with_suffix(".json"), layer_file(out, block).with_suffix(".json"))
    (out / CONFIG_FILE).write_text(circuit_tracer_config([layer_file(out, b).name for b in blocks], _scan(run, blocks[0])))
    return out


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
