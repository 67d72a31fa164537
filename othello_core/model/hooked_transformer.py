"""The model: Othello-GPT as a TransformerLens ``HookedTransformer``.

This is the only module that imports TransformerLens. Everything else asks it for a model
through ``load_model(source)`` and gets a ``HookedTransformer`` whose hook names are the
standard ones (``blocks.L.hook_resid_post``, ``blocks.L.attn.hook_pattern``, ...).

Sources:

* ``"bundled"`` -- the model this project trained and ships in ``assets/models/bundled``;
* ``"synthetic"`` / ``"championship"`` -- the paper's weights as ported to TransformerLens
  (``synthetic_model.pth`` / ``championship_model.pth`` of the Hugging Face repo
  ``NeelNanda/Othello-GPT-Transformer-Lens``). Looked for first in ``$OTHELLO_GPT_WEIGHTS``
  (a folder) or the ``weights_dir`` argument, then in the local Hugging Face cache, then
  downloaded;
* a path to a ``.pth``/``.pt``/``.safetensors`` file: a HookedTransformer-format state dict,
  or an original minGPT checkpoint of likenneth/othello_world (converted on load);
* a path to a folder holding ``model.safetensors`` (or shards + index) and ``config.json`` (a run folder).
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig  # the one TL import

from othello_core.model.weights import (PAPER_SHAPE, SHARD_INDEX, ModelLoadError, ModelShape, _is_buffer_key,
                                         read_weights_checked)
from othello_core.paths import BUNDLED_DIR, HF_REPO, HUB_FILES, WEIGHTS_ENV

PAPER_PARAMETERS = 25_295_421


def tl_config(shape: ModelShape, device: str = "cpu", dtype: torch.dtype = torch.float32,
              seed: int | None = None) -> HookedTransformerConfig:
    """The HookedTransformerConfig of a shape (the paper's port for the default shape)."""
    return HookedTransformerConfig(
        n_layers=shape.n_layers, d_model=shape.d_model, d_head=shape.d_head,
        n_heads=shape.n_heads, d_mlp=shape.d_mlp, d_vocab=shape.d_vocab,
        d_vocab_out=shape.d_vocab, n_ctx=shape.n_ctx, act_fn="gelu",
        normalization_type="LNPre", device=device, dtype=dtype, seed=seed,
    )


def key_value_cache(model: HookedTransformer):
    """An empty key/value cache for one sequence of ``model`` (TransformerLens's, filled by a forward given it as
    ``past_kv_cache``; a later forward of the next tokens then computes only those). TransformerLens 3.2 and 3.9
    both name it ``transformer_lens.cache.key_value_cache.TransformerLensKeyValueCache``."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
    return TransformerLensKeyValueCache.init_cache(model.cfg, next(model.parameters()).device, 1)


@torch.no_grad()
def fork_cache(kv):
    """A key/value cache that a forward can extend while ``kv`` stays as it is, without copying a tensor:
    TransformerLens extends a cache by concatenating into new tensors (``torch.cat``) and rebinding its fields, so
    new entry objects over the same tensors are enough (``copy.deepcopy`` copied every key and value)."""
    from dataclasses import replace
    return replace(kv, entries=[replace(entry) for entry in kv.entries])


@torch.no_grad()
def inference_layout(model: HookedTransformer) -> HookedTransformer:
    """Stores the attention and unembedding weights in the memory order TransformerLens's forward rearranges them
    to (``W_Q/W_K/W_V`` as ``[(head d_head), d_model]``, ``W_O`` as ``[d_model, (head d_head)]``, ``W_U`` as
    ``[d_vocab, d_model]``), so those rearrangements are views rather than copies of the weights on every
    forward; shapes and values are unchanged (strides alone differ). A one-token forward of the paper-size model
    copied 4 MB of weights a block this way (``bench/bench_forward.py``). For inference: an optimiser would keep
    the strides it finds."""
    def restride(param: torch.nn.Parameter, order: tuple[int, ...]) -> None:
        # a contiguous tensor laid out as the dims of `order`, seen through the inverse permutation
        base = param.data.permute(*order).contiguous()
        param.data = base.permute(*sorted(range(len(order)), key=order.__getitem__))
    for block in model.blocks:
        attn = block.attn
        for name in ("W_Q", "W_K", "W_V"):  # [head, d_model, d_head] read as [(head d_head), d_model]
            restride(getattr(attn, name), (0, 2, 1))
        restride(attn.W_O, (2, 0, 1))  # [head, d_head, d_model] read as [d_model, (head d_head)]
    restride(model.unembed.W_U, (1, 0))  # [d_model, d_vocab] read as W_U.T, [d_vocab, d_model]
    return model


def frozen_prefix(keys: list[torch.Tensor], values: list[torch.Tensor]):
    """A read-only key/value cache, one entry a block, of the positions before a forward's first: ``keys[b]`` /
    ``values[b]`` ``[batch, prefix, head, d_head]`` as ``blocks.{b}.attn.hook_k`` / ``hook_v`` hold them. A forward
    given it (``past_kv_cache``) reads it and leaves it as it was (TransformerLens's frozen cache), so one prefix
    serves many forwards."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
    from transformer_lens.cache.key_value_cache_entry import TransformerLensKeyValueCacheEntry
    batch, prefix = keys[0].shape[:2]
    return TransformerLensKeyValueCache(
        entries=[TransformerLensKeyValueCacheEntry(k, v, frozen=True) for k, v in zip(keys, values)],
        previous_attention_mask=torch.ones(batch, prefix, dtype=torch.long, device=keys[0].device), frozen=True)


def last_position_logits(model: HookedTransformer, resid: torch.Tensor, start_at_layer: int, prefix=None
                         ) -> torch.Tensor:
    """``model(resid, start_at_layer=..., past_kv_cache=prefix)[:, -1]`` (``[batch, d_vocab]``) with the last block
    doing only what the last position's logits read: the other positions' keys and values there (no query,
    attention output or MLP of theirs), then the last position alone through the block and the unembedding
    (activation patching at position 50: about a tenth faster, bench/RESULTS.md)."""
    last = model.cfg.n_layers - 1
    if start_at_layer > last:
        return model(resid[:, -1:], start_at_layer=start_at_layer)[:, 0]
    if start_at_layer < last:
        resid = model(resid, start_at_layer=start_at_layer, stop_at_layer=last, past_kv_cache=prefix)
    block = model.blocks[last]
    normed = block.ln1(resid[:, :-1])
    _, keys, values = block.attn.calculate_qkv_matrices(normed, normed, normed)  # [batch, pos - 1, head, d_head]
    if prefix is not None:
        keys = torch.cat([prefix.entries[last].past_keys, keys], dim=1)
        values = torch.cat([prefix.entries[last].past_values, values], dim=1)
    earlier = frozen_prefix([keys] * (last + 1), [values] * (last + 1))  # the last block's entry alone is read
    return model(resid[:, -1:], start_at_layer=last, past_kv_cache=earlier)[:, 0]


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_model(shape: ModelShape = PAPER_SHAPE, device: str | None = None,
                dtype: torch.dtype = torch.float32, seed: int | None = None) -> HookedTransformer:
    """A freshly initialised HookedTransformer of ``shape``."""
    model = HookedTransformer(tl_config(shape, device or default_device(), dtype, seed))
    model.eval()
    return model


def state_dict_to_model(sd: dict[str, torch.Tensor], device: str | None = None,
                        dtype: torch.dtype = torch.float32) -> HookedTransformer:
    """Load a HookedTransformer-format state dict, checking every key and shape."""
    shape = ModelShape.from_state_dict(sd)
    model = build_model(shape, device="cpu", dtype=torch.float32)
    expected = {k: v.shape for k, v in model.state_dict().items() if not _is_buffer_key(k)}
    given = {k: v for k, v in sd.items() if not _is_buffer_key(k)}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = sorted(k for k in set(expected) & set(given) if tuple(given[k].shape) != tuple(expected[k]))
    if missing or unexpected or wrong:
        raise ModelLoadError(
            "the state dict does not fit an Othello-GPT HookedTransformer: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict({k: v.float() for k, v in given.items()}, strict=False)
    if dtype != torch.float32:
        model = model.to(dtype, print_details=False)
    # print_details=False: TransformerLens would print "Moving model to device" on stdout, into JSON output
    return model.to(device or default_device(), print_details=False).eval()


def load_checkpoint(path: Path | str, device: str | None = None,
                    dtype: torch.dtype = torch.float32) -> HookedTransformer:
    """A HookedTransformer-format or minGPT checkpoint file, or a run folder. The model's
    ``weights_status`` says whether a recorded hash vouched for the weights (``weights``)."""
    sd, status = read_weights_checked(path)
    model = state_dict_to_model(sd, device=device, dtype=dtype)
    model.weights_status = status
    return model


HUB_PROBE_S = 1.5  # how long the hub may take to accept a connection before a source counts as offline


def hub_reachable(timeout: float = HUB_PROBE_S) -> bool:
    """Whether the hub (``$HF_ENDPOINT``, else huggingface.co) accepts a TCP connection within ``timeout``
    seconds, DNS included; ``False`` at once under ``HF_HUB_OFFLINE=1``. Offline, huggingface_hub itself
    retries for about 23 s before failing; this answers in ``timeout``."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    answered: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout):
                answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)  # a DNS lookup ignores socket timeouts
    thread.start()
    thread.join(timeout)
    return bool(answered)


def hub_weights_path(name: str, weights_dir: Path | str | None = None) -> Path:
    """Find the paper's weights: given folder, ``$OTHELLO_GPT_WEIGHTS``, HF cache, download."""
    if name not in HUB_FILES:
        raise ModelLoadError(f"unknown hub model {name!r}: use one of {sorted(HUB_FILES)}")
    filename = HUB_FILES[name]
    for folder in (weights_dir, os.environ.get(WEIGHTS_ENV)):
        if folder and (Path(folder) / filename).exists():
            return Path(folder) / filename
    import huggingface_hub  # here, not at the top: only the paper's weights need the hub, and it is slow to import
    try:
        return Path(huggingface_hub.hf_hub_download(HF_REPO, filename, local_files_only=True))
    except Exception:
        pass
    if not hub_reachable():
        raise ModelLoadError(
            f"the paper's {name} weights are not on this machine and the hub cannot be reached (offline). "
            f"Put {filename} (from https://huggingface.co/{HF_REPO}) in a folder named by ${WEIGHTS_ENV} "
            "(or pass weights_dir), or use the bundled model.")
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        return Path(huggingface_hub.hf_hub_download(HF_REPO, filename))
    except Exception as err:
        raise ModelLoadError(
            f"the paper's {name} weights could not be downloaded ({type(err).__name__}). "
            f"Download {filename} from https://huggingface.co/{HF_REPO} and put it in a folder "
            f"named by ${WEIGHTS_ENV} (or pass weights_dir), or use the bundled model."
        ) from None


def load_model(source: str = "bundled", device: str | None = None,
               dtype: torch.dtype = torch.float32,
               weights_dir: Path | str | None = None) -> HookedTransformer:
    """The one entry point: ``"bundled"``, ``"synthetic"``, ``"championship"`` or a path."""
    if source == "bundled":
        if not ((BUNDLED_DIR / "model.safetensors").exists() or (BUNDLED_DIR / SHARD_INDEX).exists()):
            raise ModelLoadError(f"the bundled model is missing from {BUNDLED_DIR}")
        return load_checkpoint(BUNDLED_DIR, device=device, dtype=dtype)
    if source in HUB_FILES:
        return load_checkpoint(hub_weights_path(source, weights_dir), device=device, dtype=dtype)
    if Path(source).exists():
        return load_checkpoint(source, device=device, dtype=dtype)
    raise ModelLoadError(
        f"unknown model source {source!r}: use 'bundled', 'synthetic', 'championship' "
        "or the path of a checkpoint file or run folder")


