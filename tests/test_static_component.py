"""The components' code as files (app/static_component.py): versioned URLs, a loader Streamlit takes as inline
code, and static serving switched on where the app is run from."""
import re
import tomllib

import pytest
from streamlit.components.v2.component_path_utils import ComponentPathUtils

from app.static_component import STATIC, loader, module_url, needs, version

from .conftest import ROOT


def test_the_version_changes_with_any_file_and_only_then(tmp_path):
    (tmp_path / "a.js").write_text("export default () => 1;\n")
    (tmp_path / "b.js").write_text("export const b = 2;\n")
    first = version(tmp_path)
    assert version(tmp_path) == first
    (tmp_path / "b.js").write_text("export const b = 3;\n")  # a file the entry module imports, not the entry
    assert version(tmp_path) != first
    (tmp_path / "b.js").write_text("export const b = 2;\n")
    assert version(tmp_path) == first
    (tmp_path / "c.js").write_text("")
    assert version(tmp_path) != first


def test_a_module_url_names_the_file_and_its_version_and_a_missing_file_is_refused(tmp_path):
    (tmp_path / "x.js").write_text("export default () => 1;\n")
    assert module_url("x.js", tmp_path) == f"app/static/x.js?v={version(tmp_path)}"
    with pytest.raises(FileNotFoundError, match="y.js"):
        module_url("y.js", tmp_path)


def test_the_loader_is_inline_code_to_streamlit_and_imports_the_url_relative_to_the_page():
    url = module_url("live_board.js")
    code = loader(url)
    assert ComponentPathUtils.looks_like_inline_content(code)  # else Streamlit looks for a package's asset_dir
    assert re.search(r'import\(new URL\("([^"]+)", document\.baseURI\)\)', code).group(1) == url


def test_what_a_module_needs_follows_its_relative_imports(tmp_path):
    (tmp_path / "a.js").write_text("const { b } = await import(new URL(`./b.js${q}`, import.meta.url));\n")
    (tmp_path / "b.js").write_text("import { c } from './c.js';\nexport const b = c;\n")
    (tmp_path / "c.js").write_text("export const c = 1;\n")
    assert needs("a.js", tmp_path) == {"a.js", "b.js", "c.js"}
    assert needs("c.js", tmp_path) == {"c.js"}
    assert "tools.js" in needs("live_board.js") and "tools.js" in needs("live_svg.js")


def test_every_file_is_a_module_with_a_default_export_or_imported_at_its_importers_version():
    files = {path.name: path.read_text() for path in STATIC.glob("*.js")}
    imported = set().union(*(needs(name) - {name} for name in files))
    assert imported and imported <= set(files)
    for name, text in files.items():
        assert "export default function" in text or name in imported, name
    for text in files.values():  # a relative import keeps the importer's ?v=, so no cached file of another version
        for line in (line for line in text.splitlines() if "./" in line and "import" in line):
            assert "import.meta.url).search" in line, line


def test_static_serving_is_on_where_the_app_is_run():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
