"""The direction of imports, read from the source (no module is imported to check it).

``othello_core`` has four layers; each imports only the layers before it:

* ``rules`` (squares, tokens, exact rules, batched games, hook names, user input): itself, numpy and
  the standard library;
* ``model`` (weights, the training GPT, the TransformerLens boundary, training, evaluation): rules;
* ``analysis`` (the service, probes, interventions, attribution, attention): rules and model;
* ``reports`` (findings, model card, sentences, notebook snippets): rules, model and analysis.

``othello_core.paths`` (where files live; standard library only) is open to every layer and the
command line (``othello_core.cli``) may use them all. No module of ``othello_core`` imports Streamlit,
plotly or the app; only ``model/hooked_transformer.py`` imports TransformerLens. Pages (``app/views``,
the sidebar) never build or load a model themselves: no torch, no TransformerLens, nothing of
``othello_core.model``; they reach models through the cached service of ``app/common.py``.
"""
import ast
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

CORE = ROOT / "othello_core"
LAYERS = ("rules", "model", "analysis", "reports")
THIRD_PARTY = {"rules": {"numpy"},
               "model": {"numpy", "torch", "transformer_lens", "safetensors", "huggingface_hub", "tqdm"}}
PAGES = sorted((ROOT / "app" / "views").glob("*.py")) + [ROOT / "app" / "sidebar.py"]
NOT_IN_PAGES = ("torch", "transformer_lens", "othello_core.model")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: str | None = None) -> set[str]:
    """Absolute module names ``path`` imports; relative imports resolved against ``package``
    (by default the package ``path`` lies in)."""
    if package is None:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return names


def layer_of(name: str) -> str | None:
    """The layer an ``othello_core`` module belongs to ("paths", "cli", a layer, or "" for the package)."""
    parts = name.split(".")
    if parts[0] != "othello_core":
        return None
    return parts[1] if len(parts) > 1 else ""


def core_modules(layer: str) -> list[Path]:
    return sorted((CORE / layer).rglob("*.py"))  # subpackages too (analysis/graphs, analysis/sae, ...)


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_before_it(layer):
    allowed = set(LAYERS[:LAYERS.index(layer) + 1]) | {"paths"}
    for path in core_modules(layer):
        for name in imports(path):
            found = layer_of(name)
            if found is None:
                continue
            # `from othello_core import paths` adds "othello_core" itself: the package, not a layer
            assert found in allowed | {""}, f"{path.relative_to(CORE)} imports {name}"


@pytest.mark.parametrize("layer", ["rules", "model"])
def test_the_lower_layers_import_only_the_standard_library_and_their_own_dependencies(layer):
    for path in core_modules(layer):
        for name in imports(path):
            top = _top(name)
            assert (top == "othello_core" or top in sys.stdlib_module_names or top == "__future__"
                    or top in THIRD_PARTY[layer]), f"{layer}/{path.name} imports {name}"


def test_paths_imports_only_the_standard_library():
    for name in imports(CORE / "paths.py"):
        assert _top(name) in sys.stdlib_module_names or _top(name) == "__future__", f"paths imports {name}"


def test_no_core_module_imports_streamlit_plotly_or_the_app():
    for path in sorted(CORE.rglob("*.py")):
        for name in imports(path):
            assert _top(name) not in {"streamlit", "plotly", "circuitsvis", "app"}, f"{path} imports {name}"


def test_only_the_boundary_imports_transformer_lens():
    boundary = CORE / "model" / "hooked_transformer.py"
    for path in sorted(CORE.rglob("*.py")):
        if path != boundary:
            assert not any(_top(n) == "transformer_lens" for n in imports(path)), f"{path} imports TransformerLens"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_reach_the_model_only_through_the_service(page):
    for name in imports(page):
        assert not any(name == m or name.startswith(m + ".") for m in NOT_IN_PAGES), f"{page.name} imports {name}"


def test_every_core_module_lies_in_a_layer_or_is_shared():
    loose = {p.name for p in CORE.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "paths.py"}, loose
    assert {p.name for p in CORE.iterdir() if p.is_dir() and not p.name.startswith("__")} == set(LAYERS) | {"cli"}


def test_the_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "othello_core" / "rules" / "page.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import numpy as np\nfrom othello_core.model.hooked_transformer import load_model\n"
                   "from .. import analysis\nfrom ..model import weights\nfrom . import board\n")
    found = imports(bad, package="othello_core.rules")
    assert {"othello_core.model.hooked_transformer", "othello_core.analysis", "othello_core.model.weights",
            "othello_core.rules.board"} <= found
    assert {layer_of(n) for n in found} >= {"model", "analysis", "rules"}


# Spellings of the two retired layer conventions ("after layer 6" counting from the embedding; "L1".."L8"
# for streams): every stream's name comes from rules/hooks.py (stream_label, stream_title, layer_param).
RETIRED_LAYER_SPELLINGS = ("after layer", "(layer {", "at layer {", "layer-{", "Layer (0 = embedding)",
                           "[f\"after L{l}\"", "'embed' if l == 0")


def test_no_module_names_a_stream_outside_the_one_convention():
    sources = sorted(CORE.rglob("*.py")) + sorted((ROOT / "app").rglob("*.py"))
    found = [f"{path.relative_to(ROOT)}: {spelling!r}" for path in sources if path.name != "hooks.py"
             for spelling in RETIRED_LAYER_SPELLINGS if spelling in path.read_text()]
    assert not found, found
