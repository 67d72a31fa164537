"""What the transcoders are trained on and how, declared once (the CLI's flags are generated from it).

A transcoder of block ``L`` reads the MLP's input (``blocks.L.ln2.hook_normalized``: the stream after
``ln2``, what circuit-tracer's ``ReplacementMLP`` calls ``mlp.hook_in``) and predicts the MLP's output
(``blocks.L.hook_mlp_out``, circuit-tracer's ``mlp.hook_out``)
through ``d_transcoder`` sparse features plus an optional linear skip connection (Paulo et al. 2025).

Training is BatchTopK (Bussmann et al. 2024: the ``k * batch`` largest pre-activations of a batch are kept);
for inference the features are a JumpReLU with the threshold BatchTopK converged to (the running mean of
the smallest kept activation), the activation circuit-tracer loads (``activation_function.threshold``).

>>> r = TranscoderRecipe()
>>> r.input_hook(5), r.output_hook(5), r.d_transcoder(512)
('blocks.5.ln2.hook_normalized', 'blocks.5.hook_mlp_out', 4096)
>>> TranscoderRecipe(k=0)
Traceback (most recent call last):
...
ValueError: k, expansion, games, epochs and batch_size must be >= 1 (got k=0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from othello_core.rules.hooks import mlp_in, mlp_out

TRANSCODER_GAMES_SEED = 36_000  # fresh synthetic games for transcoder training
TRANSCODER_TEST_SEED = 36_001  # games the report measures on (never trained on)
FEATURE_INPUT_HOOK = "mlp.hook_in"  # circuit-tracer's names (its ReplacementMLP): where features read and write
FEATURE_OUTPUT_HOOK = "mlp.hook_out"


@dataclass(frozen=True)
class TranscoderRecipe:
    """Everything that decides a layer's transcoder: its shape, its data and its optimiser."""

    expansion: int = 8  # d_transcoder = expansion * d_model (4,096 for the paper-size model)
    k: int = 32  # BatchTopK: active features per position on average
    skip: bool = True  # a linear skip connection W_skip (input -> output) beside the features
    games: int = 10_000  # fresh synthetic games; every real position of each is one token
    epochs: int = 3
    batch_size: int = 1024
    lr: float = 3e-3  # 1e-3 explained 0.64 of block 5 after 230 steps, 3e-3 0.74 (118k tokens x 2 epochs)
    warmup_fraction: float = 0.05
    aux_k: int = 256  # AuxK (Gao et al. 2024): dead features reconstruct the residual error
    aux_coefficient: float = 1 / 32
    dead_after_tokens: int = 200_000  # a feature that has not fired for this many tokens counts as dead
    seed: int = TRANSCODER_GAMES_SEED
    collect_batch: int = 128  # games per model forward while collecting activations

    def __post_init__(self):
        if min(self.k, self.expansion, self.games, self.epochs, self.batch_size) < 1:
            raise ValueError(f"k, expansion, games, epochs and batch_size must be >= 1 (got k={self.k})")

    @staticmethod
    def input_hook(block: int) -> str:
        return mlp_in(block)

    @staticmethod
    def output_hook(block: int) -> str:
        return mlp_out(block)

    def d_transcoder(self, d_model: int) -> int:
        return self.expansion * d_model

    def as_dict(self) -> dict:
        return asdict(self)


def transcoder_folder(model_folder, control: bool = False) -> Path:
    """Where a model's transcoder set lives: ``<model folder>/transcoders[_control]``.

    >>> str(transcoder_folder("assets/models/bundled"))
    'assets/models/bundled/transcoders'
    """
    return Path(model_folder) / ("transcoders_control" if control else "transcoders")


def layer_file(folder, block: int) -> Path:
    """circuit-tracer's per-layer file name (``TranscoderSet.to_safetensors``)."""
    return Path(folder) / f"layer_{block}.safetensors"


def flag_specs() -> list[tuple[str, object, type]]:
    """(name, default, type) of every recipe field: the ``transcoders train`` flags are generated from these."""
    return [(f.name, f.default, type(f.default)) for f in fields(TranscoderRecipe)]
