"""Weights without TransformerLens: shapes, files (whole or sharded), hashing, conversion.

Everything here works on plain state dicts in the HookedTransformer layout, so the training
path (``train.py``, ``gpt.py``) runs where TransformerLens is not installed (a bare GPU box);
``model.py`` turns these state dicts into ``HookedTransformer`` models.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


@dataclass(frozen=True)
class ModelShape:
    """The architecture knobs; defaults are the paper's port exactly."""

    n_layers: int = 8
    d_model: int = 512
    n_heads: int = 8
    d_mlp: int = 2048
    d_vocab: int = 61
    n_ctx: int = 59

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_state_dict(cls, sd: dict[str, torch.Tensor]) -> "ModelShape":
        """Read the shape off a HookedTransformer-format state dict."""
        try:
            d_vocab, d_model = sd["embed.W_E"].shape
            n_ctx = sd["pos_embed.W_pos"].shape[0]
            n_heads = sd["blocks.0.attn.W_Q"].shape[0]
            d_mlp = sd["blocks.0.mlp.W_in"].shape[1]
        except KeyError as err:
            raise ModelLoadError(f"not a HookedTransformer Othello-GPT state dict: no {err}") from None
        n_layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        return cls(n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_mlp=d_mlp,
                   d_vocab=d_vocab, n_ctx=n_ctx)


PAPER_SHAPE = ModelShape()


class ModelLoadError(RuntimeError):
    """A model source that cannot be loaded; the message says what to do."""


def _is_buffer_key(key: str) -> bool:
    return key.endswith((".mask", ".IGNORE")) or key == "IGNORE"


def convert_mingpt(sd: dict[str, torch.Tensor], n_heads: int = 8) -> dict[str, torch.Tensor]:
    """Convert the authors' minGPT checkpoint to HookedTransformer format.

    minGPT layout: ``tok_emb.weight [V, D]``, ``pos_emb [1, T, D]``,
    ``blocks.L.attn.{query,key,value,proj}.{weight,bias}`` (nn.Linear), ``blocks.L.mlp.0``
    (in) and ``blocks.L.mlp.2`` (out), ``ln1/ln2/ln_f`` (LayerNorm affine, folded here into
    the next linear map so the HookedTransformer can use LNPre), ``head.weight`` (no bias).
    """
    if "tok_emb.weight" not in sd:
        raise ModelLoadError("not a minGPT Othello checkpoint: no 'tok_emb.weight'")
    out: dict[str, torch.Tensor] = {}
    out["embed.W_E"] = sd["tok_emb.weight"].float()
    out["pos_embed.W_pos"] = sd["pos_emb"].float().reshape(sd["pos_emb"].shape[-2:])
    d_model = out["embed.W_E"].shape[1]
    d_head = d_model // n_heads
    n_layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))

    def fold(weight: torch.Tensor, bias: torch.Tensor | None, ln: str):
        """Fold LayerNorm (gamma, beta) into a linear map ``y = x W^T + b``."""
        gamma = sd.get(f"{ln}.weight", torch.ones(d_model)).float()
        beta = sd.get(f"{ln}.bias", torch.zeros(d_model)).float()
        w = weight.float() * gamma[None, :]  # [out, in]
        b = (bias.float() if bias is not None else torch.zeros(weight.shape[0])) + weight.float() @ beta
        return w, b

    for layer in range(n_layers):
        p = f"blocks.{layer}"
        for ours, theirs in (("Q", "query"), ("K", "key"), ("V", "value")):
            w, b = fold(sd[f"{p}.attn.{theirs}.weight"], sd.get(f"{p}.attn.{theirs}.bias"), f"{p}.ln1")
            out[f"{p}.attn.W_{ours}"] = w.T.reshape(d_model, n_heads, d_head).permute(1, 0, 2).contiguous()
            out[f"{p}.attn.b_{ours}"] = b.reshape(n_heads, d_head)
        proj = sd[f"{p}.attn.proj.weight"].float()  # [d_model, n_heads*d_head]
        out[f"{p}.attn.W_O"] = proj.T.reshape(n_heads, d_head, d_model).contiguous()
        out[f"{p}.attn.b_O"] = sd[f"{p}.attn.proj.bias"].float()
        w, b = fold(sd[f"{p}.mlp.0.weight"], sd.get(f"{p}.mlp.0.bias"), f"{p}.ln2")
        out[f"{p}.mlp.W_in"] = w.T.contiguous()
        out[f"{p}.mlp.b_in"] = b
        out[f"{p}.mlp.W_out"] = sd[f"{p}.mlp.2.weight"].float().T.contiguous()
        out[f"{p}.mlp.b_out"] = sd[f"{p}.mlp.2.bias"].float()
    w, b = fold(sd["head.weight"], sd.get("head.bias"), "ln_f")
    out["unembed.W_U"] = w.T.contiguous()
    out["unembed.b_U"] = b
    return out


def regular_file(path: Path | str) -> Path:
    """``path`` if it is a regular file; ``ModelLoadError`` for a missing or special one (a FIFO, a
    device, a socket: opening those can block or read forever), checked before any open."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        raise ModelLoadError(f"no such checkpoint file: {path.name}") from None
    if not stat.S_ISREG(mode):
        raise ModelLoadError(f"{path.name} is not a regular file: a checkpoint must be one")
    return path


def _unreadable(path: Path, err: Exception, what: str) -> ModelLoadError:
    """The error for a file that cannot be parsed: its name and the exception type, never what the
    exception quotes of the file's bytes."""
    return ModelLoadError(f"{path.name} is not {what} ({type(err).__name__}): the file is damaged or of "
                          "another kind; copy it again from where it was written")


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(regular_file(path)))
    except ModelLoadError:
        raise
    except Exception as err:  # truncated, bad header, ...
        raise _unreadable(path, err, "a readable safetensors file") from None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file safely (``weights_only=True`` or safetensors)."""
    path = regular_file(path)
    if path.suffix == ".safetensors":
        return _load_safetensors(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle with code, zip error, ...
        raise _unreadable(path, err, "a plain tensor checkpoint (loaded with weights_only=True)") from None
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]  # a training checkpoint of this project
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError(f"{path.name} does not hold a state dict of tensors")
    return obj


def check_finite(sd: dict[str, torch.Tensor]) -> None:
    """Refuse weights holding NaN or infinite values (a damaged file or a diverged run)."""
    bad = {k: int((~torch.isfinite(v)).sum()) for k, v in sd.items()
           if v.is_floating_point() and not _is_buffer_key(k)}  # IGNORE buffers hold -inf by design
    bad = {k: n for k, n in bad.items() if n}
    if bad:
        worst = max(bad, key=bad.get)
        raise ModelLoadError(f"the weights hold {sum(bad.values()):,} NaN or infinite values ({len(bad)} tensors, "
                             f"most in {worst}): the checkpoint is damaged or its run diverged; use another")


def model_hash(model: torch.nn.Module) -> str:
    """Content hash of the weights (fp32 bytes of every parameter, in name order)."""
    return state_dict_hash(model.state_dict())


def state_dict_hash(sd: dict[str, torch.Tensor]) -> str:
    """``model_hash`` of the model these tensors load into (fp16 files hash as their fp32 values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(sd.items()):
        if _is_buffer_key(name):
            continue
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


SHARD_INDEX = "model.safetensors.index.json"


def read_config(folder: Path | str | None) -> dict:
    """A weights or run folder's ``config.json`` (shape, training facts, evaluation); {} if none."""
    path = Path(folder) / "config.json" if folder is not None else None
    if path is None or not path.exists():
        return {}
    try:
        return json.loads(regular_file(path).read_text())
    except ModelLoadError:
        raise
    except Exception as err:
        raise _unreadable(path, err, "readable JSON") from None


def read_metrics(path: Path | str) -> list[dict]:
    """The records of a ``metrics.jsonl`` (empty when the file is missing)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def save_model(model: torch.nn.Module, folder: Path | str, extra_config: dict | None = None,
               dtype: torch.dtype = torch.float16, shard_mb: float | None = None) -> Path:
    """Write the weights (HookedTransformer keys) and add the shape to ``config.json``.

    One ``model.safetensors``, or with ``shard_mb`` shards of at most that size
    (``model-00001-of-00004.safetensors`` ...) plus ``model.safetensors.index.json`` mapping
    every key to its shard (the layout Hugging Face uses), e.g. to bring weights back from a
    machine that returns files of at most 16 MiB. ``load_checkpoint`` reads both layouts.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()
          if not _is_buffer_key(k)}
    for old in list(folder.glob("model-*-of-*.safetensors")) + [folder / SHARD_INDEX, folder / "model.safetensors"]:
        old.unlink(missing_ok=True)
    if shard_mb is None:
        save_file(sd, str(folder / "model.safetensors"))
        written = folder / "model.safetensors"
    else:
        budget = shard_mb * 2 ** 20
        limit = budget - min(64 * 1024, budget / 10)  # room for the safetensors header
        shards: list[dict[str, torch.Tensor]] = [{}]
        for key, tensor in sd.items():
            size = tensor.numel() * tensor.element_size()
            if size > limit:
                raise ValueError(f"{key} alone ({size / 2 ** 20:.1f} MiB) exceeds shard_mb={shard_mb}")
            if shards[-1] and sum(t.numel() * t.element_size() for t in shards[-1].values()) + size > limit:
                shards.append({})
            shards[-1][key] = tensor
        weight_map = {}
        for i, shard in enumerate(shards, 1):
            name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(shard, str(folder / name))
            weight_map |= {key: name for key in shard}
        written = folder / SHARD_INDEX
        written.write_text(json.dumps({"weight_map": weight_map}, indent=1))
    shape = ModelShape.from_state_dict(sd)
    config = read_config(folder)  # keep e.g. the training config
    config |= {"shape": asdict(shape), "dtype": str(dtype).replace("torch.", ""),
               "weights_hash": state_dict_hash(sd)} | (extra_config or {})
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return written


def read_sharded(folder: Path) -> dict[str, torch.Tensor]:
    """Reassemble a sharded save (see ``save_model``)."""
    index_path = folder / SHARD_INDEX
    try:
        index = json.loads(regular_file(index_path).read_text())["weight_map"]
    except ModelLoadError:
        raise
    except Exception as err:
        raise _unreadable(index_path, err, "a shard index") from None
    sd: dict[str, torch.Tensor] = {}
    for shard in sorted(set(index.values())):
        if Path(shard).name != shard:
            raise ModelLoadError(f"{SHARD_INDEX} names a shard outside its folder: {shard[:40]!r}")
        sd |= _load_safetensors(folder / shard)
    missing = set(index) - set(sd)
    if missing:
        raise ModelLoadError(f"shards in {folder.name} lack {sorted(missing)[:5]}")
    return sd


VERIFIED, UNVERIFIED, NO_RECORD = "verified", "unverified", "single file"


def read_weights_checked(path: Path | str) -> tuple[dict[str, torch.Tensor], str]:
    """``read_weights`` and how far the weights are vouched for: ``VERIFIED`` (a folder whose
    config.json records the hash they have), ``UNVERIFIED`` (a folder that records none) or
    ``NO_RECORD`` (a single checkpoint file, which has nowhere to record one)."""
    path = Path(path)
    if path.is_dir() and (path / SHARD_INDEX).exists():
        sd = read_sharded(path)
    else:
        sd = read_state_dict(path / "model.safetensors" if path.is_dir() else path)
    check_finite(sd)
    status = NO_RECORD
    if path.is_dir():
        status = VERIFIED if check_weights_hash(path, sd) else UNVERIFIED
    if "tok_emb.weight" in sd:
        sd = convert_mingpt(sd)
    return sd, status


def read_weights(path: Path | str) -> dict[str, torch.Tensor]:
    """The state dict of a checkpoint file or a folder (sharded or ``model.safetensors``),
    converted from minGPT names when it is one of the authors' checkpoints."""
    return read_weights_checked(path)[0]


def check_weights_hash(folder: Path, sd: dict[str, torch.Tensor]) -> bool:
    """Refuse weights that differ from what ``save_model`` wrote (its ``weights_hash``), e.g. a
    shard copied from an older run, cut short or corrupted on the way back from a device. Returns
    whether a hash was recorded (False: the weights load, unverified)."""
    expected = read_config(folder).get("weights_hash")
    if expected is None:  # written before the hash was recorded
        return False
    found = state_dict_hash(sd)
    if found != expected:
        raise ModelLoadError(
            f"the weights in {folder.name} hash to {found}, but its config.json records {expected} from "
            "when they were written: a file is stale, cut short or corrupted. Copy the model files and "
            "config.json again from the same run.")
    return True


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
