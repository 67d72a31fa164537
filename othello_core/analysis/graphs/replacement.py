"""circuit-tracer's replacement model of Othello-GPT: the model, its transcoders, and what circuit-tracer
expects of a text model that this one lacks.

* No tokenizer: ``MoveTokenizer`` decodes token ids to square names (``"f5"``, ``"pad"``) and encodes move
  text; circuit-tracer only decodes targets and the input for labels.
* No BOS token: circuit-tracer prepends a special token unless the first one is special, and zeroes the
  features and errors at position 0 (a BOS sink in text models). Both would shift or drop the first move:
  here the tokens are attributed as they are (``ensure_tokenized`` returns them) and no position is zeroed.
* Weights: the HookedTransformer's state dict is loaded before circuit-tracer wraps the MLPs (its wrapper
  renames them ``mlp.old_mlp``).
"""

from __future__ import annotations

import torch

from othello_core.analysis.transcoders.recipe import FEATURE_INPUT_HOOK, FEATURE_OUTPUT_HOOK
from othello_core.analysis.transcoders.transcoder import Transcoder
from othello_core.rules.notation import TOKEN_TO_SQUARE, parse_moves, square_to_name
from othello_core.rules.vocab import moves_to_tokens


class MoveTokenizer:
    """The little of a Hugging Face tokenizer circuit-tracer calls, for the 61 move tokens.

    >>> t = MoveTokenizer()
    >>> t.decode([34, 40]), t.encode("f5 d6"), t.decode(0)
    ('f5 d6', [34, 40], 'pad')
    """

    vocab_size = 61
    padding_side = "right"
    bos_token_id = pad_token_id = eos_token_id = None
    all_special_ids: list[int] = []

    def decode(self, ids) -> str:
        ids = [int(ids)] if isinstance(ids, int) or getattr(ids, "ndim", 1) == 0 else [int(i) for i in ids]
        return " ".join("pad" if i == 0 else square_to_name(TOKEN_TO_SQUARE[i]) for i in ids)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:  # noqa: ARG002
        return moves_to_tokens(parse_moves(text))


def transcoder_set(transcoders: dict[int, Transcoder], scan: str):
    """Our transcoders as circuit-tracer's ``TranscoderSet`` (JumpReLU, skip where trained)."""
    from circuit_tracer.transcoder.activation_functions import JumpReLU
    from circuit_tracer.transcoder.single_layer_transcoder import SingleLayerTranscoder, TranscoderSet
    layers = {}
    for block, ours in transcoders.items():
        state = ours.state()
        layer = SingleLayerTranscoder(ours.W_enc.shape[1], ours.d_transcoder, JumpReLU(state.pop("activation_function.threshold"), 0.1),
                                      block, skip_connection="W_skip" in state, device=ours.W_enc.device,
                                      dtype=torch.float32)
        layer.load_state_dict(state, strict=False)
        layers[block] = layer
    return TranscoderSet(layers, feature_input_hook=FEATURE_INPUT_HOOK, feature_output_hook=FEATURE_OUTPUT_HOOK,
                         scan=scan)


def replacement_model(model, transcoders: dict[int, Transcoder], scan: str = "othello-gpt"):
    """circuit-tracer's TransformerLens replacement model of ``model`` (a HookedTransformer) with ``transcoders``."""
    from circuit_tracer.replacement_model.replacement_model_transformerlens import TransformerLensReplacementModel
    replacement = TransformerLensReplacementModel(model.cfg)
    replacement.load_state_dict(model.state_dict())
    replacement._configure_replacement_model(transcoder_set(transcoders, scan))  # from_config, with our weights first
    replacement.tokenizer = MoveTokenizer()
    replacement.zero_positions = slice(0, 0)  # no BOS: every position is a move
    replacement.ensure_tokenized = lambda tokens: torch.as_tensor(tokens, device=replacement.cfg.device).reshape(-1)
    return replacement.eval()
