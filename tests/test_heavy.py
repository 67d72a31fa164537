"""Heavy jobs (patching, graphs) run once per key in a worker, at most HEAVY_JOBS at a time, and a page
that cannot get a slot, or waits past its limit, is told so instead of holding on."""
import threading
import time

import pytest

from app import heavy


def test_a_result_is_computed_once_with_its_steps_and_kept():
    calls, seen = [], []

    def compute(progress):
        calls.append(1)
        for step in range(3):
            progress(step + 1, 3)
            seen.append(step)
        return {"answer": 42}
    assert heavy.run("test kept", ("a",), compute, "Testing") == {"answer": 42}
    assert heavy.run("test kept", ("a",), compute, "Testing") == {"answer": 42}
    assert len(calls) == 1 and seen == [0, 1, 2] and heavy.cached("test kept", ("a",)) == {"answer": 42}
    assert heavy.cached("test kept", ("b",)) is None


def test_no_free_slot_within_the_wait_is_refused_and_nothing_runs(monkeypatch):
    monkeypatch.setattr(heavy, "WAIT_S", 0.2)
    slots = heavy.shared().slots
    taken = [slots.acquire(timeout=5) for _ in range(heavy.HEAVY_JOBS)]  # another visitor's jobs
    try:
        assert all(taken)
        with pytest.raises(heavy.Busy, match="not started"):
            heavy.run("test busy", ("a",), lambda progress: pytest.fail("ran without a slot"), "Patching")
    finally:
        for _ in taken:
            slots.release()
    assert heavy.run("test busy", ("a",), lambda progress: "done", "Patching") == "done"  # free again


def test_a_job_past_the_pages_wait_goes_on_and_is_kept():
    release = threading.Event()

    def slow(progress):
        release.wait(10)
        return "late"
    with pytest.raises(heavy.StillRunning, match="open this view again"):
        heavy.run("test slow", ("a",), slow, "Attributing", limit_s=0.3)
    with pytest.raises(heavy.StillRunning):  # a second page joins the same job instead of starting another
        heavy.run("test slow", ("a",), lambda progress: pytest.fail("started twice"), "Attributing", limit_s=0.3)
    release.set()
    deadline = time.time() + 10
    while heavy.cached("test slow", ("a",)) is None and time.time() < deadline:
        time.sleep(0.05)
    assert heavy.cached("test slow", ("a",)) == "late"
    assert heavy.shared().slots.acquire(timeout=1)  # the slot came back
    heavy.shared().slots.release()


def test_a_failed_job_raises_in_the_page_and_is_not_kept():
    def broken(progress):
        raise ValueError("no such position")
    with pytest.raises(ValueError, match="no such position"):
        heavy.run("test broken", ("a",), broken, "Patching")
    assert heavy.cached("test broken", ("a",)) is None


def test_pages_asking_for_the_same_job_at_once_share_one_computation():
    calls, results = [], []

    def compute(progress):
        calls.append(1)
        time.sleep(0.3)
        return "shared"
    pages = [threading.Thread(target=lambda: results.append(heavy.run("test shared", ("a",), compute, "Patching")))
             for _ in range(4)]
    for page in pages:
        page.start()
    for page in pages:
        page.join(10)
    assert results == ["shared"] * 4 and len(calls) == 1
