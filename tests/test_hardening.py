"""A shared server: malformed input on every path, model sources, damaged weights, echoed text."""
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

from othello_core.model.hooked_transformer import build_model, load_checkpoint
from othello_core.model.sources import SourcePolicy, SourceRefused, resolve_source
from othello_core.model.weights import UNVERIFIED, VERIFIED, ModelLoadError, ModelShape, read_config, save_model
from othello_core.paths import BUNDLED_DIR
from othello_core.rules.board import parse_game
from othello_core.rules.notation import MoveError, parse_moves
from othello_core.rules.user_input import EXCERPT, InputError, escape_markdown, parse_int
from app import state as S

from .conftest import ROOT
from .malformed import corpus, url_params

ENTRY = str(ROOT / "app" / "streamlit_app.py")
SUBMIT = "FormSubmitter:paste_form-Load moves"
TINY = ModelShape(n_layers=1, d_model=32, n_heads=2, d_mlp=64)
LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")  # markdown link syntax that would render


def test_the_corpus_is_large_and_never_crashes_the_parser():
    items = corpus()
    assert len(items) >= 200
    for text in items:
        for integers in (None, "tokens", "squares"):
            try:
                parse_game(text, integers=integers)
            except MoveError as err:
                assert len(err.move) <= EXCERPT and len(str(err)) < 400, (text[:30], str(err)[:100])


def test_integers_are_ascii_digits_in_range():
    assert parse_int(" 17 ", "layer", 0, 20) == 17
    for bad in ["²", "①", "٣", "５", "--5", "-5", "+5", "5" * 5000, "", "1.5"]:
        with pytest.raises(InputError):
            parse_int(bad, "layer", 0, 20)
    with pytest.raises(InputError, match="out of range"):
        parse_int("21", "layer", 0, 20)
    # notation: other scripts' digits are not numbers, and a 5,000-digit number is refused by its length
    with pytest.raises(MoveError, match="not a square"):
        parse_moves("٣", integers="squares")
    with pytest.raises(MoveError, match="is not a move") as err:
        parse_moves("5" * 1500, integers="tokens")
    assert len(str(err.value)) < 200


def test_every_url_in_the_corpus_opens_a_position_with_a_note_never_an_exception():
    for params in url_params():
        loaded = S.from_query(params)
        assert loaded.error is None or loaded.line == ()
        assert 0 <= loaded.cursor <= len(loaded.line)
        assert loaded.layer is None or 0 <= loaded.layer <= 8
    bad_at = S.from_query({"moves": "f5d6c3", "at": "²"})
    assert bad_at.cursor == 3 and "digits 0-9" in bad_at.notes[0]
    assert S.from_query({"moves": "f5d6c3", "at": "99"}).cursor == 3
    assert S.from_query({"moves": "f5d6c3", "layer": "⁵"}).layer is None
    with pytest.raises(MoveError, match="empty"):
        S.from_text("  \n ")


def test_the_cli_stream_answers_every_line(tmp_path):
    lines = [t.replace("\n", " ").replace("\r", " ") for t in corpus()] + ["f5 d6"]
    out = subprocess.run([sys.executable, "-m", "othello_core", "board", "--moves", "-"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == len(lines) and "board" in answers[-1]
    assert all("error" in a or "board" in a for a in answers)
    assert max(len(line) for line in out.stdout.splitlines()) < 1000  # a 1 MiB input gets a short answer


def _no_live_markup(at) -> None:
    for element in list(at.error) + list(at.warning) + list(at.info) + list(at.markdown) + list(at.caption):
        assert not LIVE_LINK.search(element.value), element.value[:200]


@pytest.fixture(scope="module")
def play_page():
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.query_params["moves"] = "f5d6c3"
    return at.run()


def test_the_paste_box_survives_the_corpus_and_keeps_the_last_good_position(play_page):
    at = play_page
    good = tuple(parse_moves("f5 d6 c3"))
    for text in corpus():
        at.text_area[0].set_value(text[:2000])  # the box itself caps what can be typed
        at.button(key=SUBMIT).click().run()
        assert not at.exception, (text[:40], at.exception)
        assert at.session_state["line"] == good, text[:40]
        assert at.error, text[:40]  # the visitor is told
        _no_live_markup(at)
    at.text_area[0].set_value("   ")
    at.button(key=SUBMIT).click().run()
    assert any("paste box is empty" in e.value for e in at.error) and at.session_state["line"] == good


def test_shared_links_from_the_corpus_open_without_exceptions_or_live_links(play_page):
    at = play_page
    for params in url_params()[::3]:
        for key in ("line", "cursor", "model", "layer"):
            if key in at.session_state:
                del at.session_state[key]
        at.query_params.clear()
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, (params, at.exception)
        _no_live_markup(at)
    evil = "[Click_here_to_re-login](https://evil.example/login)"
    del at.session_state["line"]
    at.query_params.clear()
    at.query_params["moves"] = evil
    at.run()
    banner = next(e.value for e in at.error if "not a legal game" in e.value)
    # brackets separate moves (a pasted Python list), so the error names the first piece inside them
    assert escape_markdown("Click_here_to_re-login") in banner and not LIVE_LINK.search(banner)


def test_a_click_error_does_not_outlive_its_position(play_page):
    at = play_page
    del at.session_state["line"]
    at.query_params.clear()
    at.query_params["moves"] = "f5d6c3"
    at.run()
    line = at.session_state["line"]
    at.session_state["live_board_error"] = ("play_board", f"{len(line)}_{len(line)}", "a1 flips nothing for white")
    at.run()
    assert any("flips nothing" in e.value for e in at.error)
    at.button(key="sb_undo").click().run()
    assert not any("flips nothing" in e.value for e in at.error)
    at.button(key="sb_redo").click().run()
    assert not any("flips nothing" in e.value for e in at.error)  # it was about the position before


# --- model sources ------------------------------------------------------------------------------

def test_named_sources_and_every_spelling_of_the_bundled_folder_resolve_to_one_key():
    spellings = [str(BUNDLED_DIR), str(BUNDLED_DIR) + "/", str(BUNDLED_DIR / ".." / "bundled"),
                 os.path.relpath(BUNDLED_DIR), str(BUNDLED_DIR / "." / ".")]
    assert {resolve_source(s) for s in spellings} == {"bundled"}
    assert [resolve_source(n) for n in ("bundled", "synthetic", "championship")] == ["bundled", "synthetic", "championship"]


def test_paths_outside_the_model_folders_get_one_message_whether_or_not_they_exist(tmp_path):
    messages = set()
    for path in ["/etc/passwd", "/etc/no-such-file", str(tmp_path), str(tmp_path / "missing.pth"),
                 str(BUNDLED_DIR / ".." / ".." / ".." / "README.md")]:
        with pytest.raises(SourceRefused) as err:
            resolve_source(path)
        messages.add(str(err.value).replace(repr(path[:EXCERPT - 1] + "…") if len(path) >= EXCERPT else repr(path), "X"))
    assert len(messages) == 1, messages
    inside = SourcePolicy(roots=(tmp_path,))
    with pytest.raises(SourceRefused):
        resolve_source(str(tmp_path / "missing.pth"), inside)  # inside a root, missing: the same refusal
    assert SourcePolicy.from_env("0.0.0.0", {"OTHELLO_ALLOW_LOCAL_PATHS": "1"}).allow_any_path is False
    assert SourcePolicy.from_env("127.0.0.1", {"OTHELLO_ALLOW_LOCAL_PATHS": "1"}).allow_any_path is True
    assert SourcePolicy.from_env("127.0.0.1", {}).allow_any_path is False


def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    fifo = tmp_path / "model.pth"
    os.mkfifo(fifo)
    done = {}

    def attempt():
        for fn in (lambda: resolve_source(str(fifo), SourcePolicy(roots=(tmp_path,))), lambda: load_checkpoint(fifo)):
            try:
                fn()
            except ModelLoadError as err:
                done.setdefault("errors", []).append(str(err))
    worker = threading.Thread(target=attempt, daemon=True)
    start = time.time()
    worker.start()
    worker.join(timeout=2)
    assert not worker.is_alive() and time.time() - start < 2  # a blocking open would hang here
    assert len(done["errors"]) == 2


def test_file_contents_never_reach_a_message(tmp_path):
    secret = "TOP-SECRET-LINE password=hunter2"
    (tmp_path / "notes.pth").write_text(secret)
    (tmp_path / "notes.safetensors").write_text(secret)
    import zipfile
    with zipfile.ZipFile(tmp_path / "archive.pth", "w") as z:
        z.writestr("secret-member-name-hunter2.txt", secret)
    for name in ("notes.pth", "notes.safetensors", "archive.pth"):
        with pytest.raises(ModelLoadError) as err:
            load_checkpoint(tmp_path / name)
        assert "hunter2" not in str(err.value) and "SECRET" not in str(err.value)


# --- damaged weights --------------------------------------------------------------------------

@pytest.fixture()
def sharded(tmp_path):
    model = build_model(TINY, device="cpu", seed=0)
    save_model(model, tmp_path, shard_mb=0.05)
    return tmp_path


def _shards(folder):
    return sorted(folder.glob("model-*-of-*.safetensors"))


def test_a_saved_folder_loads_verified(sharded):
    assert load_checkpoint(sharded).weights_status == VERIFIED


@pytest.mark.parametrize("damage", ["truncate", "flip_header", "remove", "garble_index"])
def test_every_damaged_folder_gives_a_model_load_error(sharded, damage):
    shard = _shards(sharded)[0]
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    elif damage == "flip_header":
        data = bytearray(shard.read_bytes())
        data[8:16] = bytes(b ^ 0xFF for b in data[8:16])
        shard.write_bytes(bytes(data))
    elif damage == "remove":
        shard.unlink()
    else:
        (sharded / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(ModelLoadError):
        load_checkpoint(sharded)


def test_nan_weights_are_refused_and_a_folder_without_a_hash_loads_unverified(tmp_path):
    model = build_model(TINY, device="cpu", seed=0)
    sd = model.state_dict()
    sd["blocks.0.mlp.W_in"].view(-1)[:1000] = float("nan")
    torch.save(sd, tmp_path / "nan.pth")
    with pytest.raises(ModelLoadError, match="1,000 NaN"):
        load_checkpoint(tmp_path / "nan.pth")
    folder = tmp_path / "old"
    save_model(build_model(TINY, device="cpu", seed=1), folder)
    config = read_config(folder)
    del config["weights_hash"]
    (folder / "config.json").write_text(json.dumps(config))
    assert load_checkpoint(folder).weights_status == UNVERIFIED


def test_the_app_bounds_its_caches_and_never_caches_a_failure(tmp_path, monkeypatch):
    """100 distinct bad sources leave at most 32 short remembered failures; good folders beyond
    the configured maximum are evicted."""
    import gc
    import weakref

    from app import common
    monkeypatch.setenv("OTHELLO_MODEL_DIRS", str(tmp_path))
    for i in range(100):
        svc, message = common.try_service(f"/no/such/{i}/" + "x" * 50)
        assert svc is None and len(message) < 400
    assert len(common._FAILED) <= 32
    refs = []
    for seed in range(common.MAX_MODELS + 2):
        save_model(build_model(TINY, device="cpu", seed=seed), tmp_path / f"m{seed}")
        svc, message = common.try_service(str(tmp_path / f"m{seed}"))
        assert message is None
        refs.append(weakref.ref(svc))
        del svc
    gc.collect()
    assert sum(r() is not None for r in refs) <= common.MAX_MODELS
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    assert common.try_service(str(junk))[0] is None
    save_model(build_model(TINY, device="cpu", seed=9), tmp_path / "junk-fixed")
    assert common.try_service(str(tmp_path / "junk-fixed"))[0] is not None
