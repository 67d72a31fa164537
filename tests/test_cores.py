"""A heavy job's second core: taken only while the machine has one free and no visitor calls the model, and the
work split between the two threads item by item, each once, the results in order."""
import os
import subprocess
import sys
import threading

import pytest

from othello_core.analysis.cores import SpareCore, cpu_ticks, process_ticks, run_all


class Machine:
    """Clock and /proc ticks under the test's control: ``load(others, mine, seconds)`` advances time with other
    processes using ``others`` cores and this process ``mine``."""
    HZ = 100

    def __init__(self):
        self.now, self.busy, self.own = 100.0, 0, 0

    def clock(self):
        return self.now

    def ticks(self):
        return self.busy, self.own

    def load(self, others: float, mine: float, seconds: float) -> None:
        self.now += seconds
        self.own += round(mine * seconds * self.HZ)
        self.busy += round((others + mine) * seconds * self.HZ)


def spare_core(machine, uses, cores=2):
    spare = SpareCore(lambda: uses[0], quiet_s=1.0, ticks=machine.ticks, clock=machine.clock, cores=cores)
    spare.hz = Machine.HZ
    return spare


def test_a_core_is_spare_only_while_other_processes_leave_one_free():
    machine, uses = Machine(), [0]
    spare = spare_core(machine, uses)  # the load is read from here
    machine.load(others=0.1, mine=1.0, seconds=0.5)
    assert spare()
    machine.load(others=0.9, mine=1.0, seconds=0.5)  # another process (a replica, a build) on the second core
    assert not spare()
    machine.load(others=0.0, mine=2.0, seconds=0.5)  # this job on both cores: its own load does not count
    assert spare()
    machine.load(others=0.5, mine=1.5, seconds=0.5)
    assert not spare()


def test_a_visitor_calling_the_model_takes_the_core_back_for_the_quiet_time():
    machine, uses = Machine(), [7]
    spare = spare_core(machine, uses)
    uses[0] += 2  # the job's own first runs, before it asks: not a visitor's
    machine.load(0.0, 1.0, 0.5)
    assert spare()
    uses[0] += 1  # a click's forward
    machine.load(0.0, 1.0, 0.5)
    assert not spare()  # seen now
    machine.load(0.0, 1.0, 0.6)
    assert not spare()
    machine.load(0.0, 1.0, 0.5)
    assert spare()  # 1.1 s since it was seen, no call since


def test_readings_closer_than_the_window_repeat_the_last_answer_and_one_core_never_spares():
    machine, uses = Machine(), [0]
    spare = spare_core(machine, uses)
    machine.load(0.0, 1.0, 0.5)
    assert spare()
    machine.load(2.0, 1.0, 0.05)  # too short a span to read: the last answer
    assert spare()
    single = spare_core(machine, uses, cores=1)
    machine.load(0.0, 1.0, 0.5)
    assert not single()
    blind = SpareCore(lambda: 0, ticks=lambda: None, cores=2)
    assert not blind() and not blind()


def test_this_machines_proc_is_read_by_thread_and_an_exited_process_reads_as_none():
    """The job's load is its own threads' alone: the rest of this process (other visitors' runs) counts as load."""
    me = threading.get_native_id()
    sum(i * i for i in range(2_000_000))  # CPU time of this thread's own
    busy, mine = cpu_ticks([me])
    assert busy >= mine > 0 and cpu_ticks([])[1] == 0 and process_ticks() >= mine
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_ticks(child.pid) is None and cpu_ticks([child.pid])[1] == 0  # not a thread of this process
    spare = SpareCore(lambda: 0, cores=2)
    asker = threading.Thread(target=spare)
    asker.start()
    asker.join()
    assert spare.threads == {me, asker.native_id}  # the thread that made it and the one that asked


def test_the_second_thread_takes_items_while_spare_and_each_runs_once_in_order():
    """Items 0 and 1 each wait for the other: they pass only when two threads run them at once."""
    both, threads, progress = threading.Barrier(2, timeout=20), {}, []

    def fn(i):
        threads[i] = threading.current_thread().name
        if i < 2:
            both.wait()
        return i * i
    assert run_all(fn, list(range(6)), spare=lambda: True, progress=lambda d, t: progress.append((d, t))) == [
        0, 1, 4, 9, 16, 25]
    assert {threads[0], threads[1]} == {threading.current_thread().name, "spare core"} and sorted(threads) == [
        0, 1, 2, 3, 4, 5]
    assert sorted(progress) == [(d, 6) for d in range(1, 7)]


def test_without_a_spare_core_every_item_runs_in_the_callers_thread():
    """Item 0 waits until the second thread has asked (and been told no, or failed to read the load)."""
    for answer in (False, "raise"):
        asked, names = threading.Event(), set()

        def spare():
            asked.set()
            if answer == "raise":
                raise ValueError("/proc unreadable")
            return answer

        def fn(i):
            names.add(threading.current_thread().name)
            assert i or asked.wait(20)
            return -i
        assert run_all(fn, [0, 1, 2], spare=spare) == [0, -1, -2]
        assert names == {threading.current_thread().name}
    assert run_all(lambda i: i, []) == []


def test_an_error_in_either_thread_is_raised_and_stops_the_rest():
    """Raised in the caller's thread, the error stops the rest at once; raised in the second (items 0 and 1 run at
    once, one in each; the second's raises), it reaches the caller too."""
    ran = []

    def fn(i):
        ran.append(i)
        if i == 2:
            raise ValueError("item 2 failed")
        return i
    with pytest.raises(ValueError, match="item 2"):
        run_all(fn, list(range(50)))
    assert ran == [0, 1, 2]
    both, ran = threading.Barrier(2, timeout=20), []

    def in_the_second(i):
        ran.append(i)
        if i < 2:
            both.wait()
            if threading.current_thread().name == "spare core":
                raise ValueError("the second thread failed")
        return i
    with pytest.raises(ValueError, match="second thread"):
        run_all(in_the_second, list(range(50)), spare=lambda: True)
    assert {0, 1} <= set(ran)
