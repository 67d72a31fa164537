"""One layer's transcoder at inference, in circuit-tracer's layout and file format.

``W_enc`` and ``W_dec`` are ``[d_transcoder, d_model]``; features are ``JumpReLU(x @ W_enc.T + b_enc)``
with a per-feature ``threshold``; the output is ``features @ W_dec + b_dec (+ x @ W_skip.T)``. The file is
circuit-tracer's ``SingleLayerTranscoder.to_safetensors``: keys ``W_enc, W_dec, b_enc, b_dec,
activation_function.threshold`` and ``W_skip`` where used, so ``circuit_tracer``'s ``load_relu_transcoder``
reads it as it is.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

THRESHOLD_KEY = "activation_function.threshold"


class Transcoder(nn.Module):
    """A JumpReLU transcoder with an optional skip connection (circuit-tracer's parameter names)."""

    def __init__(self, W_enc, b_enc, W_dec, b_dec, threshold, W_skip=None, block: int | None = None):  # noqa: N803
        super().__init__()
        self.W_enc, self.b_enc = nn.Parameter(W_enc), nn.Parameter(b_enc)  # [F, d], [F]
        self.W_dec, self.b_dec = nn.Parameter(W_dec), nn.Parameter(b_dec)  # [F, d], [d]
        self.threshold = nn.Parameter(threshold)  # [F]
        self.W_skip = None if W_skip is None else nn.Parameter(W_skip)  # [d, d]
        self.block = block

    @property
    def d_transcoder(self) -> int:
        return self.W_enc.shape[0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., d_model]`` -> ``[..., d_transcoder]`` feature activations."""
        pre = x.to(self.W_enc.dtype) @ self.W_enc.T + self.b_enc
        return pre * (pre > self.threshold)

    def decode(self, feats: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        out = feats @ self.W_dec + self.b_dec
        if self.W_skip is not None:
            if x is None:
                raise ValueError("this transcoder has a skip connection: decode needs its input x")
            out = out + x.to(self.W_skip.dtype) @ self.W_skip.T
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x), x)

    def state(self) -> dict[str, torch.Tensor]:
        """circuit-tracer's state dict for this layer."""
        out = {"W_enc": self.W_enc, "W_dec": self.W_dec, "b_enc": self.b_enc, "b_dec": self.b_dec,
               THRESHOLD_KEY: self.threshold}
        if self.W_skip is not None:
            out["W_skip"] = self.W_skip
        return {k: v.detach() for k, v in out.items()}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], block: int | None = None,
                   dtype: torch.dtype = torch.float32) -> "Transcoder":
        missing = {"W_enc", "W_dec", "b_enc", "b_dec", THRESHOLD_KEY} - set(state)
        if missing:
            raise ValueError(f"not a transcoder state: missing {sorted(missing)}")
        t = {k: v.to(dtype) for k, v in state.items()}
        return cls(t["W_enc"], t["b_enc"], t["W_dec"], t["b_dec"], t[THRESHOLD_KEY], t.get("W_skip"), block)


def save_transcoder(transcoder: Transcoder, path: Path | str, dtype: torch.dtype = torch.float16) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(dtype).contiguous().cpu() for k, v in transcoder.state().items()}, str(path))
    return path


def load_transcoder(path: Path | str, block: int | None = None, device: str = "cpu") -> Transcoder:
    """A layer file (circuit-tracer's fp16 layout, or the shipped 8-bit one) as a float32 ``Transcoder``
    (CPUs multiply float32 faster)."""
    return Transcoder.from_state(dequantize_state(load_file(str(path), device=device)), block)


# Shipping: 8-bit weights with one float16 scale per row (per feature for W_enc and W_dec, per output
# coordinate for W_skip); biases and thresholds stay float16. ``load_transcoder`` reads both layouts.
QUANTIZED = ("W_enc", "W_dec", "W_skip")


def quantize_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """int8 rows with their absmax/127 scales (``<key>.q`` and ``<key>.scale``) for the big matrices.

    >>> w = torch.tensor([[1.0, -0.5], [0.0, 0.25]])
    >>> back = dequantize_state(quantize_state({"W_enc": w}))["W_enc"]
    >>> float((back - w).abs().max()) < 0.005
    True
    """
    out = {}
    for key, value in state.items():
        if key in QUANTIZED:
            scale = (value.float().abs().amax(dim=1, keepdim=True) / 127).clamp_min(1e-12)
            out[key + ".q"] = torch.round(value.float() / scale).to(torch.int8)
            out[key + ".scale"] = scale.squeeze(1).to(torch.float16)
        else:
            out[key] = value.to(torch.float16)
    return out


def dequantize_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {k: v for k, v in state.items() if not k.endswith((".q", ".scale"))}
    for key in QUANTIZED:
        if key + ".q" in state:
            out[key] = state[key + ".q"].float() * state[key + ".scale"].float()[:, None]
    return out


def save_quantized(transcoder: Transcoder, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous().cpu() for k, v in quantize_state(transcoder.state()).items()}, str(path))
    return path
