"""The training configuration, declared once: ``TrainConfig``'s fields are the ``train`` command's
flags (``cli.model_commands`` builds them from it), with no torch import, so the CLI starts fast.

>>> flag_specs()[:2]
[('n_layers', 8, <class 'int'>), ('d_model', 512, <class 'int'>)]
>>> dict((name, kind) for name, _, kind in flag_specs())["bf16"]
<class 'bool'>
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields

# fields that are not command-line flags: the run folder has its own flag, the command is recorded
NOT_FLAGS = ("run_dir", "command")
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")  # the modes that replay CUDA graphs


@dataclass
class TrainConfig:
    n_layers: int = 8
    d_model: int = 512
    n_heads: int = 8
    d_mlp: int | None = None  # default 4 * d_model
    batch_size: int = 256
    steps: int = 20_000
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 500
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    target: str = "next"  # "next" or "legal"
    seed: int = 0
    workers: int = 2
    device: str | None = None
    bf16: bool = True  # autocast on CUDA only
    compile: bool = False
    compile_mode: str = "default"  # torch.compile's mode: one of COMPILE_MODES (reduce-overhead: CUDA graphs)
    threads: int | None = None
    eval_every: int = 1000
    eval_games: int = 1000
    save_every: int = 1000
    max_minutes: float | None = None  # stop (and save) after this wall time
    time_schedule: bool = False  # cosine over the max_minutes budget instead of over `steps`
    final_eval_games: int = 0  # evaluate on this many held-out games at the end (0: skip)
    init_from: str | None = None  # start from these weights (a run folder or file), fresh optimizer
    run_dir: str = "runs/othello-gpt"
    command: str = field(default_factory=lambda: " ".join(sys.argv))

    def __post_init__(self):
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be one of {COMPILE_MODES}, not {self.compile_mode!r}")

    def shape(self):
        """The model's ``weights.ModelShape``."""
        from othello_core.model.weights import ModelShape  # here: weights imports torch; this module stays torch-free for the CLI
        return ModelShape(n_layers=self.n_layers, d_model=self.d_model, n_heads=self.n_heads,
                          d_mlp=self.d_mlp or 4 * self.d_model)


def flag_specs() -> list[tuple[str, object, type]]:
    """(name, default, type) of every flag, in declaration order (``int | None`` reads as int)."""
    specs = []
    for f in fields(TrainConfig):
        if f.name in NOT_FLAGS:
            continue
        base = str(f.type).replace(" | None", "").strip()
        specs.append((f.name, f.default, _TYPES[base]))
    return specs
