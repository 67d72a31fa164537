"""Which model sources a server may load: the named ones, and checkpoints under its model folders.

A dashboard shared with a room takes model sources from every visitor's URL (``?model=``) and
sidebar. ``resolve_source(text, policy)`` turns such text into the one key the server loads and
caches by, or refuses it:

* ``bundled``, ``synthetic`` and ``championship`` always pass;
* a path passes only if its real path (symlinks and ``..`` resolved) is a regular file or a folder
  inside one of ``policy.roots`` (``assets/models`` and the folders named by ``$OTHELLO_MODEL_DIRS``),
  or anywhere when the operator sets ``$OTHELLO_ALLOW_LOCAL_PATHS=1`` on a server that listens on
  loopback only;
* everything else gets one and the same ``SourceRefused`` message, whether the path exists or not
  (no existence oracle), checked with ``stat`` before anything is opened (a FIFO never blocks).

Every spelling of the bundled folder resolves to ``"bundled"``, so it is cached once.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from othello_core.model.weights import ModelLoadError
from othello_core.paths import ASSETS, BUNDLED_DIR, HUB_SOURCES
from othello_core.rules.user_input import excerpt

NAMED_SOURCES = ("bundled",) + HUB_SOURCES
MODEL_DIRS_ENV = "OTHELLO_MODEL_DIRS"
ALLOW_PATHS_ENV = "OTHELLO_ALLOW_LOCAL_PATHS"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_SOURCE_CHARS = 1_000


class SourceRefused(ModelLoadError):
    """A model source this server does not load."""


@dataclass(frozen=True)
class SourcePolicy:
    roots: tuple[Path, ...] = (ASSETS / "models",)
    allow_any_path: bool = False

    @classmethod
    def from_env(cls, address: str = "127.0.0.1", environ=os.environ) -> "SourcePolicy":
        """The operator's settings: extra model folders, and local paths (never beyond loopback)."""
        extra = tuple(Path(p) for p in environ.get(MODEL_DIRS_ENV, "").split(os.pathsep) if p.strip())
        allow = environ.get(ALLOW_PATHS_ENV, "") == "1" and address in LOOPBACK
        return cls((ASSETS / "models",) + extra, allow)

    def describe(self) -> str:
        where = "any local path" if self.allow_any_path else \
            "checkpoints under " + ", ".join(str(r) for r in self.roots)
        return f"{', '.join(NAMED_SOURCES)} or {where}"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_source(text: str, policy: SourcePolicy = SourcePolicy()) -> str:
    """The cache key of an allowed source: a named source, ``"bundled"`` for any spelling of the
    bundled folder, or the real path of an allowed checkpoint. ``SourceRefused`` otherwise."""
    source = str(text).strip()
    if source in NAMED_SOURCES:
        return source
    refused = SourceRefused(f"the model source {excerpt(source)!r} is not available on this server: use "
                            f"{policy.describe()}")
    if not source or len(source) > MAX_SOURCE_CHARS or "\x00" in source:
        raise refused
    try:
        real = Path(os.path.realpath(os.path.expanduser(source)))
        roots = [Path(os.path.realpath(r)) for r in policy.roots]
        if not (policy.allow_any_path or any(_inside(real, r) for r in roots)):
            raise refused
        mode = os.stat(real).st_mode
    except (OSError, ValueError):
        raise refused from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise refused
    if real == Path(os.path.realpath(BUNDLED_DIR)):
        return "bundled"
    return str(real)
