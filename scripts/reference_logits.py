"""Write ``tests/data/reference_logits.npz``: the bundled model's logits on four fixed games, from the
pinned TransformerLens, against which ``tests/test_reference_logits.py`` checks any other version or
loading path (run it after a deliberate change of the bundled weights: ``python -m scripts.reference_logits``).
"""

from __future__ import annotations

import numpy as np
import torch

from othello_core.model.hooked_transformer import load_model
from othello_core.model.weights import model_hash
from othello_core.rules.games import load_eothello, random_games
from othello_core.rules.vocab import squares_to_token_array

OUT = "tests/data/reference_logits.npz"


def reference_tokens() -> np.ndarray:
    """``[4, 59]``: two eOthello games and two random ones (seeds 1 and 2)."""
    games = np.concatenate([load_eothello().squares[:2, :59], random_games(1, seed=1).squares[:, :59],
                            random_games(1, seed=2).squares[:, :59]])
    return squares_to_token_array(games)


def main() -> None:
    from importlib.metadata import version
    model = load_model("bundled", device="cpu")
    with torch.no_grad():
        logits = model(torch.as_tensor(reference_tokens())).float().numpy()
    np.savez_compressed(OUT, logits=logits, tokens=reference_tokens(), weights_hash=model_hash(model),
                        transformer_lens=version("transformer-lens"))
    print(f"{OUT}: logits {logits.shape} of weights {model_hash(model)}")


if __name__ == "__main__":
    main()
