"""A heavy job's second core, taken only while nobody else wants it.

On a 2-core server one torch thread per forward is the rule: two threads ran up to 40x slower when another
process held the second core (bench/RESULTS.md), and concurrent visitors use the cores. A job that runs many
independent forwards (activation patching) can still use an idle machine's second core without that risk: a
second Python thread takes the next forward, each thread with one intra-op thread (torch releases the GIL in its
kernels), and it takes one only while ``SpareCore`` says the core is free. It looks again before every forward, so
a visitor who starts clicking gets the core back within one forward.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Iterable, Sequence

import torch

QUIET_S = 1.0  # no other model call for this long before a job takes a second core
WINDOW_S = 0.2  # the shortest span the machine's other load is read over
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc's clock ticks a second
FREE = 0.7  # of a core left free by all other load (other processes, the server's other threads), besides the job's thread


def machine_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def stat_ticks(path: str) -> int | None:
    """User + system clock ticks so far in a /proc ``stat`` file (a process's: all its threads; or one thread's,
    ``/proc/self/task/<tid>/stat``); None where it cannot be read (no /proc, or the process or thread has ended)."""
    try:
        with open(path) as f:
            after_name = f.read().rpartition(")")[2].split()  # the name may hold spaces: fields from the state on
        return int(after_name[11]) + int(after_name[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


def process_ticks(pid: int | str = "self") -> int | None:
    """``stat_ticks`` of process ``pid``, all its threads."""
    return stat_ticks(f"/proc/{pid}/stat")


def cpu_ticks(threads: Iterable[int]) -> tuple[int, int] | None:
    """(busy clock ticks of the whole machine, clock ticks of ``threads`` of this process, by native id) since boot,
    from /proc; None where there is no /proc. A thread that has ended counts 0."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - fields[4], sum(stat_ticks(f"/proc/self/task/{tid}/stat") or 0 for tid in threads)


class SpareCore:
    """``spare()`` is True while a second core is free: the machine has one besides this job's thread after all
    other load over the last ``WINDOW_S`` or more (from /proc; never where there is none): other processes, and
    this one's other threads (other visitors' runs, other models, other jobs). The job's threads are the one that
    made it and those that ask it. And ``uses()`` (a count of model calls, ``ModelService.lock.uses``) has not
    moved for ``quiet_s``: no visitor of this model is clicking (a click's forward is too short to show in the
    load at once)."""

    def __init__(self, uses: Callable[[], int], quiet_s: float = QUIET_S, ticks=None,
                 clock=time.monotonic, cores: int | None = None):
        self.threads = {threading.get_native_id()}
        self.uses, self.quiet_s, self.clock = uses, quiet_s, clock
        self.ticks = ticks if ticks is not None else lambda: cpu_ticks(self.threads)
        self.cores = machine_cores() if cores is None else cores
        self.seen = self.changed_at = None
        self.answer = False
        self.hz = TICKS_PER_S
        first = self.ticks()
        self.last = None if first is None else (self.clock(), first)  # the load is read from here on

    def __call__(self) -> bool:
        self.threads.add(threading.get_native_id())
        now, count = self.clock(), self.uses()
        if self.seen is None:  # counted from the first question on (the job's own first runs come before it)
            self.seen, self.changed_at = count, now - self.quiet_s
        elif count != self.seen:
            self.seen, self.changed_at = count, now
        if self.cores < 2:
            return False
        if self.last is not None and now - self.last[0] < WINDOW_S:
            return self.answer and now - self.changed_at >= self.quiet_s
        ticks = self.ticks()
        if ticks is None:
            return False
        if self.last is not None:
            span = (now - self.last[0]) * self.hz
            others = max(0, (ticks[0] - self.last[1][0]) - (ticks[1] - self.last[1][1])) / span  # cores, not the job's
            self.answer = self.cores - 1 - others >= FREE
        self.last = now, ticks
        return self.answer and now - self.changed_at >= self.quiet_s


def asks(spare: Callable[[], bool]) -> bool:
    """``spare()``, False where it fails: a load that cannot be read is no spare core."""
    try:
        return bool(spare())
    except Exception:  # noqa: BLE001
        return False


def run_all(fn: Callable, items: Sequence, spare: Callable[[], bool] | None = None,
            progress: Callable[[int, int], None] | None = None, poll_s: float = 0.05) -> list:
    """``[fn(item) for item in items]``: in this thread, and in one more that takes the next item while
    ``spare()`` is True. Each item runs once, whole, in one thread; the results in ``items``' order; an error in
    either thread is raised here once both have stopped. ``progress(done, total)`` after each item."""
    results, errors = [None] * len(items), []
    lock, taken, done = threading.Lock(), [0], [0]

    def take() -> int | None:
        with lock:
            if errors or taken[0] == len(items):
                return None
            taken[0] += 1
            return taken[0] - 1

    def work(i: int) -> None:
        results[i] = fn(items[i])
        with lock:  # in order: the bar never steps back
            done[0] += 1
            if progress is not None:
                progress(done[0], len(items))

    def helper() -> None:
        torch.get_num_threads()  # applies torch's count to this thread (its first matmul would use MKL's default)
        try:
            while taken[0] < len(items) and not errors:
                if not asks(spare):
                    time.sleep(poll_s)
                elif (i := take()) is not None:
                    work(i)
        except BaseException as err:  # noqa: BLE001 - raised in the caller's thread
            errors.append(err)

    second = threading.Thread(target=helper, daemon=True, name="spare core") if spare is not None else None
    if second is not None:
        second.start()
    try:
        while (i := take()) is not None:
            work(i)
    except BaseException as err:
        errors.append(err)
    finally:
        if second is not None:
            second.join()
    if errors:
        raise errors[0]
    return results
