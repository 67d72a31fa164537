"""Where things live on disk (no heavy imports: the CLI and the app both use it)."""

from __future__ import annotations

import os
from pathlib import Path

# The checkout's assets/ (an editable install); $OTHELLO_ASSETS points an installed copy at one.
ASSETS = Path(os.environ.get("OTHELLO_ASSETS", Path(__file__).resolve().parent.parent / "assets"))
BUNDLED_DIR = ASSETS / "models" / "bundled"
HUB_SOURCES = ("synthetic", "championship")
# The paper's weights as ported to TransformerLens, on the Hugging Face hub.
HF_REPO = "NeelNanda/Othello-GPT-Transformer-Lens"
HUB_FILES = {"synthetic": "synthetic_model.pth", "championship": "championship_model.pth"}
WEIGHTS_ENV = "OTHELLO_GPT_WEIGHTS"  # a folder holding those files


def artifact_folder(source: str) -> Path:
    """The folder of a model's probes, reports and findings: next to its weights.

    ``bundled`` -> ``assets/models/bundled``; the paper's models -> ``assets/models/<name>``; a
    checkpoint file -> its folder; a run folder -> itself.
    """
    if source == "bundled":
        return BUNDLED_DIR
    if source in HUB_SOURCES:
        return ASSETS / "models" / source
    path = Path(source)
    return path if path.is_dir() else path.parent
