"""What an SAE is trained on and how, declared once (the CLI's flags are generated from it).

The shipped SAE reads stream 6 -- the residual stream *after L5*, TransformerLens's
``blocks.5.hook_resid_post`` (streams are numbered as in ``hooks``: 0 is the embedding) -- the
stream Karvonen et al. (2024) chose ("layer 5" in their 0-based block numbering).

>>> r = SAERecipe()
>>> r.hook, r.d_sae(512), r.games * 59 // 1000  # hook, features, thousands of tokens (at most)
('blocks.5.hook_resid_post', 4096, 708)
>>> SAERecipe(architecture="gated")
Traceback (most recent call last):
...
ValueError: architecture must be one of ('topk', 'batchtopk', 'matryoshka', 'standard'), not 'gated'
>>> SAERecipe(architecture="matryoshka").matryoshka_levels(512)  # nested prefixes, the last all features
[128, 512, 1024, 2048, 4096]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from othello_core.rules.hooks import stream_hook

ARCHITECTURES = ("topk", "batchtopk", "matryoshka", "standard")
SAE_GAMES_SEED = 28_000  # fresh synthetic games for SAE training (held-out games use evaluate.EVAL_SEED)
SAE_TEST_SEED = 28_001  # games the board-state metrics are measured on (never trained on)
KARVONEN_HELD_OUT_SEED = 28_002  # Karvonen's metrics: features labelled on SAE_TEST_SEED games, scored on these


@dataclass(frozen=True)
class SAERecipe:
    """Everything that decides an SAE: where it reads, its shape, its data and its optimiser."""

    stream: int = 6  # the residual stream after L5 = blocks.5.hook_resid_post
    expansion: int = 8  # d_sae = expansion * d_model (4,096 for the paper-size model)
    # "topk" (k active features per position), "batchtopk" (k per position on average over a batch,
    # saved as JumpReLU), "matryoshka" (BatchTopK with nested reconstruction losses over prefixes of the
    # features: ``matryoshka_levels``) or "standard" (ReLU + L1); chosen by `sae compare`
    architecture: str = "topk"
    k: int = 64  # TopK / BatchTopK: active features per position (on average for BatchTopK)
    l1_coefficient: float = 5.0  # standard: weight of the L1 penalty
    games: int = 12_000  # fresh synthetic games; every real position of each is one token
    epochs: int = 3  # passes over those tokens (shuffled anew each epoch)
    batch_size: int = 1024  # tokens per SAELens training step (small: ~2,000 steps on a CPU budget)
    lr: float = 1e-3
    warmup_fraction: float = 0.05
    init_b_dec_mean: bool = True  # start the decoder bias at the data's mean (in SAELens's scaled units)
    seed: int = SAE_GAMES_SEED
    collect_batch: int = 128  # games per model forward while collecting activations

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, not {self.architecture!r}")
        if self.stream < 0 or self.expansion < 1 or self.games < 1 or self.epochs < 1:
            raise ValueError(f"stream >= 0 and expansion, games, epochs >= 1 (got {self})")

    @property
    def hook(self) -> str:
        return stream_hook(self.stream)

    def d_sae(self, d_model: int) -> int:
        return self.expansion * d_model

    def matryoshka_levels(self, d_model: int) -> list[int]:
        """Matryoshka's nested widths: d_model / 4, then doubling from d_model up to every feature."""
        widths, width = [d_model // 4], d_model
        while width < self.d_sae(d_model):
            widths.append(width)
            width *= 2
        return widths + [self.d_sae(d_model)]

    def as_dict(self) -> dict:
        return asdict(self)


def sae_folder(model_folder, hook: str = SAERecipe().hook, control: bool = False):
    """Where a model's SAE on ``hook`` lives: ``<model folder>/sae[_control]/<hook>``.

    >>> str(sae_folder("assets/models/bundled"))
    'assets/models/bundled/sae/blocks.5.hook_resid_post'
    """
    return Path(model_folder) / ("sae_control" if control else "sae") / hook


def flag_specs() -> list[tuple[str, object, type]]:
    """(name, default, type) of every recipe field: the ``sae train`` flags are generated from these."""
    return [(f.name, f.default, type(f.default)) for f in fields(SAERecipe)]
