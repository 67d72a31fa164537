"""The direction of imports, read from the source (no module is imported to check it).

* the rules layer (squares, tokens, exact rules, batched games, user input, hook names, paths)
  imports only itself, the standard library and numpy: no torch, no TransformerLens, no app;
* no module of ``othello_core`` imports Streamlit or the app;
* pages (``app/views``, the sidebar) never build or load a model themselves: no torch, no
  TransformerLens, no ``othello_core.model`` / ``train`` / ``gpt``; they reach models through the
  cached service of ``app/common.py``.
"""
import ast
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

CORE = ROOT / "othello_core"
RULES = {"notation", "board", "games", "user_input", "hooks", "vocab", "paths"}
MODEL_BUILDERS = {"torch", "transformer_lens", "othello_core.model", "othello_core.train", "othello_core.gpt"}
PAGES = sorted((ROOT / "app" / "views").glob("*.py")) + [ROOT / "app" / "sidebar.py"]


def imports(path: Path) -> set[str]:
    """Absolute module names ``path`` imports (relative imports of othello_core resolved)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "othello_core"
                names |= {f"{base}.{node.module}" if node.module else f"{base}.{a.name}" for a in node.names}
            elif node.module:
                names.add(node.module)
                if node.module == "othello_core":
                    names |= {f"othello_core.{a.name}" for a in node.names}
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("module", sorted(RULES))
def test_the_rules_layer_imports_nothing_but_itself_numpy_and_the_standard_library(module):
    for name in imports(CORE / f"{module}.py"):
        if name.startswith("othello_core."):
            assert name.split(".")[1] in RULES, f"{module} imports {name}"
        else:
            assert _top(name) in sys.stdlib_module_names or _top(name) in {"numpy", "__future__"}, \
                f"{module} imports {name}"


def test_no_core_module_imports_streamlit_or_the_app():
    for path in sorted(CORE.glob("*.py")):
        for name in imports(path):
            assert _top(name) not in {"streamlit", "app"}, f"{path.name} imports {name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_reach_the_model_only_through_the_service(page):
    for name in imports(page):
        assert not any(name == m or name.startswith(m + ".") for m in MODEL_BUILDERS), f"{page.name} imports {name}"


def test_the_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "page.py"
    bad.write_text("import numpy as np\nfrom othello_core.model import load_model\nfrom . import board\n")
    found = imports(bad)
    assert "othello_core.model" in found and "othello_core.board" in found
