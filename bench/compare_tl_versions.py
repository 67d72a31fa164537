"""Check that TransformerLens 3.9 (pinned) and 4.3 give the same numbers on the same weights.

Run it twice, once per installed version, then compare:

    .venv/bin/python bench/compare_tl_versions.py dump /tmp/tl39.npz
    /path/to/tl43-venv/bin/python bench/compare_tl_versions.py dump /tmp/tl43.npz
    .venv/bin/python bench/compare_tl_versions.py compare /tmp/tl39.npz /tmp/tl43.npz

Both runs build the same random paper-shape weights (HookedTransformer state-dict format,
seeded), run one batch of 4 random games, and store the logits and 48 hook tensors (resid
pre/mid/post, attention pattern, attn_out, mlp_out at every layer), and the forward time.
3.9 uses HookedTransformer; 4.3 uses TransformerBridge.boot_native + convert_tl_checkpoint
with compatibility mode and no weight processing. Prints the largest difference per tensor.
"""
import sys
import time

import numpy as np
import torch


HOOKS = [f"blocks.{l}.{name}" for l in range(8) for name in
         ("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "attn.hook_pattern",
          "hook_attn_out", "hook_mlp_out")]
CFG = dict(n_layers=8, d_model=512, d_head=64, n_heads=8, d_mlp=2048, d_vocab=61,
           d_vocab_out=61, n_ctx=59, act_fn="gelu", normalization_type="LNPre")


def reference_state_dict() -> dict:
    from types import SimpleNamespace

    from othello_core.model.gpt import OthelloGPT  # no TransformerLens import: runs under both
    torch.manual_seed(0)
    twin = OthelloGPT(SimpleNamespace(n_layers=8, d_model=512, n_heads=8, d_mlp=2048, d_vocab=61, n_ctx=59))
    for p in twin.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return twin.state_dict()


def tokens() -> torch.Tensor:
    from othello_core.rules.games import random_games
    return torch.as_tensor(random_games(4, seed=0).tokens[:, :59])


def build(sd):
    import importlib.metadata

    import transformer_lens
    if importlib.metadata.version("transformer-lens").startswith("3."):
        cfg = transformer_lens.HookedTransformerConfig(**CFG, device="cpu")
        model = transformer_lens.HookedTransformer(cfg)
        model.load_state_dict(sd, strict=False)
        return model, "HookedTransformer"
    from transformer_lens.config.transformer_bridge_config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint
    cfg = TransformerBridgeConfig(**CFG)
    bridge = TransformerBridge.boot_native(cfg, device="cpu")
    converted = convert_tl_checkpoint(sd, cfg)
    result = bridge.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    bridge.enable_compatibility_mode(disable_warnings=True, no_processing=True)
    return bridge, "TransformerBridge"


def dump(path: str) -> None:
    import importlib.metadata
    version = importlib.metadata.version("transformer-lens")
    torch.set_num_threads(1)
    model, kind = build(reference_state_dict())
    toks = tokens()
    with torch.no_grad():
        logits, cache = model.run_with_cache(toks, names_filter=lambda n: n in HOOKS)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            model(toks[:1])
            times.append(time.perf_counter() - start)
    arrays = {"logits": logits.numpy()} | {h: cache[h].numpy() for h in HOOKS}
    np.savez(path, **arrays, forward_s=np.median(times))
    print(f"transformer-lens {version} ({kind}): {len(HOOKS)} hooks, "
          f"one-game forward {np.median(times) * 1000:.0f} ms (1 thread, median of 5)")


def compare(a: str, b: str) -> None:
    x, y = np.load(a), np.load(b)
    worst = max((float(np.abs(x[k] - y[k]).max()), k) for k in x.files if k != "forward_s")
    equal = sum(np.array_equal(x[k], y[k]) for k in x.files if k != "forward_s")
    print(f"{equal}/{len(x.files) - 1} tensors bitwise equal; largest difference {worst[0]:.3g} ({worst[1]})")
    print(f"forward time ratio {a} / {b}: {float(x['forward_s']) / float(y['forward_s']):.2f}")


if __name__ == "__main__":
    {"dump": dump, "compare": compare}[sys.argv[1]](*sys.argv[2:])
