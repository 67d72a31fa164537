"""Every loading path of othello_core.model.hooked_transformer, offline, on checkpoints made here."""
import json
import math
import pickle
import shutil

import pytest
import torch
from torch import nn

from othello_core import paths
from othello_core.model import hooked_transformer as M
from othello_core.model import weights as W
from othello_core.model.gpt import OthelloGPT
from othello_core.rules.games import random_games

SMALL = W.ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64)


@pytest.fixture(scope="module")
def tokens():
    return torch.as_tensor(random_games(6, seed=0).tokens[:, :59])


def random_twin(shape=SMALL, seed=0) -> OthelloGPT:
    torch.manual_seed(seed)
    twin = OthelloGPT(shape)
    for p in twin.parameters():
        nn.init.normal_(p, std=0.2)
    return twin


def test_paper_config_has_the_paper_parameter_count():
    model = M.build_model(W.PAPER_SHAPE, device="cpu")
    cfg = model.cfg
    assert (cfg.n_layers, cfg.d_model, cfg.d_head, cfg.n_heads, cfg.d_mlp) == (8, 512, 64, 8, 2048)
    assert (cfg.d_vocab, cfg.n_ctx, cfg.act_fn, cfg.normalization_type) == (61, 59, "gelu", "LNPre")
    assert W.n_parameters(model) == M.PAPER_PARAMETERS == 25_295_421


def test_training_twin_computes_the_same_logits(tokens):
    twin = random_twin()
    hooked = M.state_dict_to_model(twin.state_dict(), device="cpu")
    torch.testing.assert_close(hooked(tokens), twin(tokens), atol=2e-5, rtol=1e-5)


def test_inference_layout_keeps_the_logits_and_makes_the_forward_s_weight_rearrangements_views(tokens):
    import einops
    model = M.state_dict_to_model(random_twin().state_dict(), device="cpu")
    with torch.inference_mode():
        before, digest = model(tokens), W.model_hash(model)
        attn = model.blocks[0].attn
        assert einops.rearrange(attn.W_Q, "h m d -> (h d) m").data_ptr() != attn.W_Q.data_ptr()  # a copy, as loaded
        M.inference_layout(model)
        assert torch.equal(model(tokens), before) and W.model_hash(model) == digest
        for block in model.blocks:  # the rearrangements TransformerLens's attention makes every forward
            for w in (block.attn.W_Q, block.attn.W_K, block.attn.W_V):
                assert einops.rearrange(w, "h m d -> (h d) m").data_ptr() == w.data_ptr()
            w_o = block.attn.W_O
            assert einops.rearrange(w_o, "h d m -> m (h d)").contiguous().data_ptr() == w_o.data_ptr()
        assert model.unembed.W_U.T.contiguous().data_ptr() == model.unembed.W_U.data_ptr()


def test_hooked_state_dict_file_round_trip(tmp_path, tokens):
    source = M.build_model(SMALL, device="cpu", seed=3)
    path = tmp_path / "ckpt.pth"
    torch.save(source.state_dict(), path)
    loaded = M.load_model(str(path), device="cpu")
    assert torch.equal(loaded(tokens), source(tokens))
    assert W.model_hash(loaded) == W.model_hash(source)


def test_run_folder_fp16_round_trip_keeps_the_hash(tmp_path, tokens):
    twin = random_twin(seed=1)
    W.save_model(twin, tmp_path, extra_config={"note": "x"})
    a = M.load_model(str(tmp_path), device="cpu")
    b = M.load_model(str(tmp_path / "model.safetensors"), device="cpu")
    assert W.model_hash(a) == W.model_hash(b)
    torch.testing.assert_close(a(tokens), twin(tokens), atol=0.05, rtol=0.02)  # fp16 weights


def test_hub_sources_go_through_hf_hub_download(tmp_path, monkeypatch, tokens):
    source = M.build_model(SMALL, device="cpu", seed=4)
    served = tmp_path / "hub" / "synthetic_model.pth"
    served.parent.mkdir()
    torch.save(source.state_dict(), served)
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs.get("local_files_only", False)))
        if kwargs.get("local_files_only"):
            raise FileNotFoundError("not in the local cache")
        return str(served.parent / filename)

    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.delenv(paths.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(M, "hub_reachable", lambda: True)
    loaded = M.load_model("synthetic", device="cpu")
    assert torch.equal(loaded(tokens), source(tokens))
    assert calls == [(paths.HF_REPO, "synthetic_model.pth", True), (paths.HF_REPO, "synthetic_model.pth", False)]


@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "unreachable"])
def test_offline_hub_sources_are_refused_without_trying_a_download(monkeypatch, offline):
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append(kwargs.get("local_files_only", False))
        raise FileNotFoundError("not in the local cache")

    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.delenv(paths.WEIGHTS_ENV, raising=False)
    if offline == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # nothing answers on a reserved address: the probe gives up after its timeout
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "https://192.0.2.1:9")
    with pytest.raises(W.ModelLoadError, match=r"cannot be reached.*synthetic_model.pth.*OTHELLO_GPT_WEIGHTS"):
        M.load_model("synthetic", device="cpu")
    assert calls == [True]  # the local cache only: no download attempt (huggingface_hub retries ~23 s)


def test_a_weights_folder_is_used_before_the_hub(tmp_path, monkeypatch, tokens):
    source = M.build_model(SMALL, device="cpu", seed=5)
    torch.save(source.state_dict(), tmp_path / "championship_model.pth")
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("the hub must not be asked")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.setenv(paths.WEIGHTS_ENV, str(tmp_path))
    assert torch.equal(M.load_model("championship", device="cpu")(tokens), source(tokens))
    monkeypatch.delenv(paths.WEIGHTS_ENV)
    assert torch.equal(M.load_model("championship", device="cpu", weights_dir=tmp_path)(tokens),
                       source(tokens))


def test_offline_hub_failure_says_what_to_download(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.delenv(paths.WEIGHTS_ENV, raising=False)
    with pytest.raises(W.ModelLoadError) as err:
        M.load_model("synthetic", device="cpu")
    assert "synthetic_model.pth" in str(err.value) and paths.WEIGHTS_ENV in str(err.value)


class MinGPTReference(nn.Module):
    """The authors' minGPT layout (likenneth/othello_world mingpt/model.py), written here."""

    def __init__(self, vocab=61, ctx=59, d=32, heads=8, layers=2):  # the paper has 8 heads
        super().__init__()
        self.heads = heads
        self.tok_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Parameter(torch.randn(1, ctx, d) * 0.3)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            block = nn.Module()
            block.ln1, block.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            block.attn = nn.Module()
            for name in ("key", "query", "value", "proj"):
                setattr(block.attn, name, nn.Linear(d, d))
            block.attn.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))
            block.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), nn.Dropout(0.0))
            self.blocks.append(block)
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        for name, p in self.named_parameters():  # affine LayerNorms, so folding is exercised
            if name.endswith(("ln1.weight", "ln2.weight", "ln_f.weight")):
                nn.init.uniform_(p, 0.5, 1.5)
            elif "ln" in name:
                nn.init.normal_(p, std=0.3)

    def forward(self, idx):
        b, t = idx.shape
        x = self.tok_emb(idx) + self.pos_emb[:, :t]
        for blk in self.blocks:
            h = blk.ln1(x)
            split = lambda z: z.view(b, t, self.heads, -1).transpose(1, 2)  # noqa: E731
            q, k, v = split(blk.attn.query(h)), split(blk.attn.key(h)), split(blk.attn.value(h))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
            att = att.masked_fill(blk.attn.mask[:, :, :t, :t] == 0, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + blk.attn.proj(y)
            x = x + blk.mlp(blk.ln2(x))
        return self.head(self.ln_f(x))


def test_authors_mingpt_checkpoint_is_converted(tmp_path, tokens):
    torch.manual_seed(6)
    ref = MinGPTReference().eval()
    path = tmp_path / "gpt_synthetic.ckpt"
    torch.save(ref.state_dict(), path)
    loaded = M.load_model(str(path), device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens), ref(tokens), atol=1e-4, rtol=1e-4)


def test_wrong_shape_and_foreign_files_are_refused(tmp_path):
    sd = M.build_model(SMALL, device="cpu").state_dict()
    sd["blocks.1.mlp.W_in"] = torch.zeros(3, 3)
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(W.ModelLoadError, match="wrong shape"):
        M.load_model(str(tmp_path / "bad.pth"), device="cpu")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.pth")
    with pytest.raises(W.ModelLoadError, match="not a HookedTransformer"):
        M.load_model(str(tmp_path / "foreign.pth"), device="cpu")
    (tmp_path / "code.pth").write_bytes(pickle.dumps(print))
    with pytest.raises(W.ModelLoadError, match="weights_only"):
        M.load_model(str(tmp_path / "code.pth"), device="cpu")
    with pytest.raises(W.ModelLoadError, match="unknown model source"):
        M.load_model("no/such/file.pth")


def test_dtype_is_selectable(tmp_path):
    torch.save(M.build_model(SMALL, device="cpu").state_dict(), tmp_path / "m.pth")
    loaded = M.load_model(str(tmp_path / "m.pth"), device="cpu", dtype=torch.bfloat16)
    assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}


def test_sharded_weights_reassemble(tmp_path, tokens):
    twin = random_twin(seed=4)
    W.save_model(twin, tmp_path, shard_mb=0.03)  # ~30 KiB shards for a ~60 KiB model
    shards = sorted(tmp_path.glob("model-*-of-*.safetensors"))
    assert len(shards) > 1 and not (tmp_path / "model.safetensors").exists()
    assert all(s.stat().st_size <= 0.03 * 2 ** 20 for s in shards)
    loaded = M.load_model(str(tmp_path), device="cpu")
    W.save_model(twin, tmp_path / "whole")
    assert W.model_hash(loaded) == W.model_hash(M.load_model(str(tmp_path / "whole"), device="cpu"))


def test_a_shard_from_another_run_is_refused_by_the_recorded_hash(tmp_path):
    for folder, seed in (("run", 4), ("other", 5)):
        W.save_model(random_twin(seed=seed), tmp_path / folder, shard_mb=0.03)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["weights_hash"] == W.model_hash(M.load_model(str(tmp_path / "run"), device="cpu"))
    stale = sorted((tmp_path / "other").glob("model-*-of-*.safetensors"))[-1]
    shutil.copy(stale, tmp_path / "run" / stale.name)  # same keys and shapes, other values
    with pytest.raises(W.ModelLoadError, match="stale, cut short or corrupted"):
        M.load_model(str(tmp_path / "run"), device="cpu")
    del config["weights_hash"]  # folders written before the hash was recorded still load
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    M.load_model(str(tmp_path / "run"), device="cpu")
