"""The bundled model's logits on four fixed games equal the stored ones (``scripts/reference_logits.py``,
made with the pinned TransformerLens): a TransformerLens upgrade or a new loading path that changes any
number fails here."""
import numpy as np
import torch

from othello_core.model.hooked_transformer import load_model
from othello_core.model.weights import model_hash
from scripts.reference_logits import OUT, reference_tokens


def test_bundled_logits_equal_the_stored_reference(root):
    stored = np.load(root / OUT)
    model = load_model("bundled", device="cpu")
    assert str(stored["weights_hash"]) == model_hash(model), "bundled weights changed: run python -m scripts.reference_logits"
    assert (stored["tokens"] == reference_tokens()).all()
    with torch.no_grad():
        logits = model(torch.as_tensor(stored["tokens"])).float().numpy()
    assert np.abs(logits - stored["logits"]).max() < 1e-4
