"""Streamlit components v2 whose JavaScript is a file in ``app/static/``, fetched by the browser once, instead of
inline code sent with the element on every run.

Inline code travels with every rerun: on Play it was about 80% of a click's 38.7 KB of elements, the live board's
12.5 KB twice (bench/RESULTS.md), serialised, hashed and sent by the server each time. Streamlit serves files from
a component's own ``asset_dir`` only for a component in an installed package; the app is not one, so its code is
served by Streamlit's static file serving (``server.enableStaticServing`` in ``.streamlit/config.toml``: the
files under ``app/static/`` at ``/app/static/``, with a JavaScript content type). What each run sends is a loader
of one line that imports the file, named with a hash of the whole directory (``?v=``) so that a browser never
runs a cached file of another version. No build step, no network beyond the app's own server.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).parent / "static"


def version(folder: Path = STATIC) -> str:
    """A hash of every file under ``folder`` (names and contents): it changes whenever any of them does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def module_url(module: str, base_url_path: str = "", folder: Path = STATIC) -> str:
    """The path the browser imports ``module`` (a file in ``folder``) from, under Streamlit's ``baseUrlPath``
    (``/app/static/<module>?v=<version>``)."""
    if not (folder / module).is_file():
        raise FileNotFoundError(f"no component code {module!r} in {folder}")
    base = base_url_path.strip("/")
    return f"{'/' + base if base else ''}/app/static/{module}?v={version(folder)}"


def loader(url: str) -> str:
    """The inline module Streamlit runs for the component: it imports the file at ``url`` (a path on this server;
    the loader itself runs from a blob: URL, so the path is made absolute) and hands it the component. Two lines:
    Streamlit takes a one-line string with a "/" in it for a path into a package's ``asset_dir``."""
    return (f"// the component's code: {url}\n"
            "export default async (component) => "
            f"(await import(new URL({url!r}, window.location.origin))).default(component);\n")


def static_component(name: str, module: str, css: str | None = None):
    """``st.components.v2.component(name, ...)`` whose JavaScript is ``app/static/<module>`` (an ES module whose
    default export takes the component, as an inline one's does); ``css`` stays inline (it is small)."""
    if not st.get_option("server.enableStaticServing"):
        raise RuntimeError("The app's components load their code from app/static/, which Streamlit serves only with "
                           "server.enableStaticServing: run the app from the repository root (./dev app), where "
                           ".streamlit/config.toml turns it on, or pass --server.enableStaticServing true.")
    return st.components.v2.component(name, js=loader(module_url(module, st.get_option("server.baseUrlPath"))),
                                      css=css)
