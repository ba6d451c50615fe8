"""The compute processes of ``leadbook serve``: a call past its time limit, or whose caller is
gone, is stopped by ending its process, and the pool keeps serving."""

from __future__ import annotations

import threading
import time

import pytest

from udfs.pool import CallStoppedError, ComputePool


def ready(pool: ComputePool, workers: int = 1) -> ComputePool:
    deadline = soon(60)
    while len(pool.pids()) < workers:
        assert time.monotonic() < deadline, "the compute process never came up"
        time.sleep(0.05)
    return pool


@pytest.fixture(scope="module")
def pool():
    pool = ready(ComputePool(1))
    yield pool
    pool.close()


def soon(seconds: float) -> float:
    return time.monotonic() + seconds


def test_a_call_answers(pool):
    assert pool.call("math:hypot", (3, 4), {}, deadline=soon(60)) == 5.0


def test_a_call_raises_what_the_function_raises(pool):
    with pytest.raises(ValueError, match="math domain error"):
        pool.call("math:sqrt", (-1,), {}, deadline=soon(60))


def test_a_call_past_its_deadline_ends_its_process_and_a_fresh_one_serves(pool):
    before = pool.pids()
    started = time.monotonic()
    with pytest.raises(CallStoppedError, match="past the time limit"):
        pool.call("time:sleep", (30,), {}, deadline=soon(0.5))
    assert time.monotonic() - started < 5  # not the 30 s the call would have taken
    assert ready(pool).pids() != before  # the sleeping process is gone, a fresh one came
    assert pool.call("math:hypot", (6, 8), {}, deadline=soon(60)) == 10.0


def test_a_call_whose_caller_is_gone_is_stopped(pool):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(CallStoppedError, match="caller is gone"):
        pool.call("time:sleep", (30,), {}, deadline=soon(60), stop=stop)
    assert pool.call("math:hypot", (5, 12), {}, deadline=soon(60)) == 13.0


def test_a_starting_process_is_not_given_calls_nor_stopped():
    pool = ComputePool(1, ["udfs.functions"])  # imports take a while
    try:
        with pytest.raises(CallStoppedError, match="no compute process came free"):
            pool.call("math:hypot", (3, 4), {}, deadline=soon(0.01))
        assert ready(pool).call("math:hypot", (3, 4), {}, deadline=soon(60)) == 5.0
    finally:
        pool.close()


def test_a_call_waiting_for_a_busy_pool_gives_up_at_its_deadline(pool):
    busy = threading.Thread(
        target=lambda: pool.call("time:sleep", (2,), {}, deadline=soon(60)), daemon=True
    )
    busy.start()
    time.sleep(0.3)
    with pytest.raises(CallStoppedError, match="no compute process came free"):
        pool.call("math:hypot", (1, 1), {}, deadline=soon(0.3))
    busy.join()


UNREADABLE = """
class UnreadableError(Exception):
    def __init__(self, a, b):  # pickle rebuilds it with one argument, and fails
        super().__init__(f"{a}{b}")


def fail():
    raise UnreadableError(1, 2)
"""


def test_an_answer_that_cannot_be_read_replaces_its_process(tmp_path, monkeypatch):
    (tmp_path / "unreadable.py").write_text(UNREADABLE)
    monkeypatch.syspath_prepend(str(tmp_path))  # a spawned process starts with this path
    pool = ready(ComputePool(1))
    try:
        with pytest.raises(CallStoppedError, match="could not be read"):
            pool.call("unreadable:fail", (), {}, deadline=soon(60))
        assert ready(pool).call("math:hypot", (3, 4), {}, deadline=soon(60)) == 5.0
    finally:
        pool.close()


def test_arguments_that_cannot_be_sent_leave_the_pool_whole(pool):
    with pytest.raises(Exception, match="pickle"):
        pool.call("math:hypot", (lambda: 1,), {}, deadline=soon(60))
    assert pool.call("math:hypot", (3, 4), {}, deadline=soon(60)) == 5.0


def test_a_process_that_cannot_start_is_said_at_once():
    pool = ComputePool(1, ["no_such_module_anywhere"])
    try:
        deadline = soon(60)
        while not pool.broken:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(CallStoppedError, match="could not start: importing no_such_module"):
            pool.call("math:hypot", (3, 4), {}, deadline=soon(60))
        assert time.monotonic() - started < 30  # not the whole deadline
    finally:
        pool.close()
