"""Heavy work off the click path: activation patching and attribution graphs run in a worker thread,
at most ``HEAVY_JOBS`` at a time per server, each result computed once per key and kept (per kind, the
``KEPT`` most recent), with a progress bar while a page waits, and a time limit after which the page
stops waiting and says so (the job finishes in the background and is kept).

Clicks are never queued behind a heavy job: the jobs run on their own copies of the model (patching: the
service's hook-free copy, with a second thread while a core is free and no visitor calls the model; graphs: the
graph engine's).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Callable

import streamlit as st

HEAVY_JOBS = int(os.environ.get("OTHELLO_HEAVY_JOBS", "1"))  # heavy jobs at once per server
WAIT_S = float(os.environ.get("OTHELLO_HEAVY_WAIT_S", "30"))  # how long a request waits for a free slot
LIMIT_S = float(os.environ.get("OTHELLO_HEAVY_LIMIT_S", "120"))  # how long a page waits for its job
KEPT = 64  # results kept per kind


class Busy(RuntimeError):
    """The server's heavy-job slots stayed taken: nothing was started."""


class StillRunning(RuntimeError):
    """The job outlived the page's wait: it goes on, and its result is kept when done."""


class Job:
    def __init__(self, expected_s: float):
        self.start, self.expected_s = time.perf_counter(), expected_s
        self.done = self.total = 0
        self.result = self.error = None
        self.thread: threading.Thread | None = None

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def fraction(self) -> float:
        if self.total:
            return self.done / self.total
        return min((time.perf_counter() - self.start) / self.expected_s, 0.97)  # no steps: timed as before


class Shared:
    def __init__(self, slots: int):
        self.slots = threading.BoundedSemaphore(slots)
        self.lock = threading.Lock()
        self.results: dict[str, OrderedDict] = {}
        self.running: dict[tuple, Job] = {}
        self.seconds: dict[str, float] = {}  # per kind: how long the last job took (the bar's guess)


@st.cache_resource
def shared() -> Shared:
    return Shared(HEAVY_JOBS)


def cached(kind: str, key: tuple):
    """The kept result of (kind, key), or None."""
    state = shared()
    with state.lock:
        results = state.results.get(kind, {})
        if key in results:
            results.move_to_end(key)
            return results[key]
    return None


def run(kind: str, key: tuple, compute: Callable[[Callable[[int, int], None]], object], label: str,
        expected_s: float = 10.0, limit_s: float | None = None):
    """The result of ``compute(progress)`` for (kind, key): kept, or joined if another page already started it,
    or started in a worker when a slot frees within ``WAIT_S`` (else ``Busy``). The page shows a progress bar
    until it is done, or ``StillRunning`` after ``limit_s`` (default ``LIMIT_S``). ``compute`` runs outside the
    script thread: resolve Streamlit caches (the service, the engine) before and close over them."""
    hit = cached(kind, key)
    if hit is not None:
        return hit
    state = shared()
    with state.lock:
        job = state.running.get((kind, key))
    if job is None:
        if not state.slots.acquire(timeout=WAIT_S):
            raise Busy(f"The server is running {HEAVY_JOBS} other visitor's heavy job(s) ({kind} and the like) and "
                       f"none finished within {WAIT_S:.0f} s, so this {label.lower()} was not started. Try again in a "
                       "moment; every result is kept, so it is quick once computed.")
        with state.lock:  # another page may have started (or finished) the same job while this one waited
            job = state.running.get((kind, key))
            if job is None and key in state.results.get(kind, {}):
                state.slots.release()
                return state.results[kind][key]
            if job is None:
                job = state.running[(kind, key)] = Job(state.seconds.get(kind, expected_s))
                started = True
            else:
                state.slots.release()
                started = False
    else:
        started = False
    if started:
        def work() -> None:
            try:
                job.result = compute(job.progress)
                with state.lock:
                    results = state.results.setdefault(kind, OrderedDict())
                    results[key] = job.result
                    while len(results) > KEPT:
                        results.popitem(last=False)
                    state.seconds[kind] = time.perf_counter() - job.start
            except Exception as err:  # noqa: BLE001 - raised again in the page that waits
                job.error = err
            finally:
                with state.lock:
                    state.running.pop((kind, key), None)
                state.slots.release()
        worker = threading.Thread(target=work, daemon=True, name=f"heavy {kind}")
        worker.start()
        job.thread = worker  # set once started: a page joining sees a thread that is running or has finished
    while job.thread is None:  # registered by another page a moment ago: its worker is about to start
        time.sleep(0.01)
    limit = LIMIT_S if limit_s is None else limit_s
    bar = st.progress(0.0, text=label)
    while job.thread.is_alive():
        elapsed = time.perf_counter() - job.start
        if elapsed > limit:
            bar.empty()
            raise StillRunning(f"{label} has run {elapsed:.0f} s, past this page's {limit:.0f} s wait. It goes on in "
                               "the background and is kept when done: open this view again in a minute.")
        steps = f" ({job.done}/{job.total})" if job.total else f" (about {job.expected_s:.0f} s here)"
        bar.progress(job.fraction(), text=f"{label}: {elapsed:.0f} s{steps}")
        job.thread.join(0.2)
    bar.empty()
    if job.error is not None:
        raise job.error
    return job.result
