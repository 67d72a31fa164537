"""Streamlit components v2 whose JavaScript is a file in ``app/static/``, fetched by the browser once, instead of
inline code sent with the element on every run.

Inline code travels with every rerun: on Play it was about 80% of a click's 38.7 KB of elements, the live board's
12.5 KB twice (bench/RESULTS.md), serialised, hashed and sent by the server each time. Streamlit serves files from
a component's own ``asset_dir`` only for a component in an installed package; the app is not one, so its code is
served by Streamlit's static file serving (``server.enableStaticServing`` in ``.streamlit/config.toml``: the
files under ``app/static/`` at the app's address + ``app/static/``, with a JavaScript content type). What each run
sends is a two-line loader that imports the file, named with a hash of the whole directory (``?v=``) so that a
browser never runs a cached file of another version; the hash is taken when the server starts, so after editing a
file, restart it. No build step, no network beyond the app's own server.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).parent / "static"


def version(folder: Path = STATIC) -> str:
    """A hash of every file under ``folder`` (names and contents): it changes whenever any of them does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def module_url(module: str, folder: Path = STATIC) -> str:
    """Where the browser imports ``module`` (a file in ``folder``) from: ``app/static/<module>?v=<version>``,
    relative to the page, as Streamlit's own ``./static/js/`` bundle is (so under any ``baseUrlPath``, and behind
    a proxy that strips a prefix)."""
    if not (folder / module).is_file():
        raise FileNotFoundError(f"no component code {module!r} in {folder}")
    return f"app/static/{module}?v={version(folder)}"


def needs(module: str, folder: Path = STATIC) -> set[str]:
    """The files of ``folder`` that ``module`` loads: itself and, in turn, what it imports by a relative path."""
    found, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += re.findall(r"\./([\w.]+\.js)", (folder / name).read_text())
    return found


def loader(url: str) -> str:
    """The inline module Streamlit runs for the component: it imports the file at ``url`` (relative to the page;
    the loader itself runs from a blob: URL, so it is resolved against ``document.baseURI``) and hands it the
    component. Two lines: Streamlit takes a one-line string with a "/" in it for a path into a package's
    ``asset_dir``."""
    return (f"// the component's code: {url}\n"
            "export default async (component) => "
            f"(await import(new URL({json.dumps(url)}, document.baseURI))).default(component);\n")


def static_component(name: str, module: str, css: str | None = None):
    """``st.components.v2.component(name, ...)`` whose JavaScript is ``app/static/<module>`` (an ES module whose
    default export takes the component, as an inline one's does); ``css`` stays inline (it is small)."""
    if not st.get_option("server.enableStaticServing"):
        raise RuntimeError("The app's components load their code from app/static/, which Streamlit serves only with "
                           "server.enableStaticServing: run the app from the repository root (./dev app), where "
                           ".streamlit/config.toml turns it on, or pass --server.enableStaticServing true.")
    return st.components.v2.component(name, js=loader(module_url(module)), css=css)
