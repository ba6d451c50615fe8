"""The processes that compute cell functions for ``leadbook serve``, with a time limit per call.

A process pool from the standard library cannot stop a call once it runs: a runaway call (a
whole-column range, a client that gave up) kept its worker busy for as long as it took, and
Excel's client retries, so a few such cells could tie up every worker. Here each worker is a
process of its own with a pipe: a call past its deadline, or one whose caller is gone, ends
its process, and a fresh one takes its place.

Calls wait for a worker and for the answer in a thread, never on the server's event loop.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
"""How often a waiting call looks at its deadline and whether its caller is gone."""


READY = "ready"
"""What a worker says once it has imported its modules."""


class CallStoppedError(Exception):
    """A call was stopped: past its deadline, its caller gone, or its process died.
    ``timed_out``: it was its deadline (computing, or waiting for a process)."""

    def __init__(self, why: str, *, timed_out: bool = False) -> None:
        super().__init__(why)
        self.timed_out = timed_out


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection


class ComputePool:
    """``size`` spawned processes, each importing ``modules`` when it starts."""

    def __init__(self, size: int, modules: Sequence[str] = ()) -> None:
        self.size = size
        self._modules = tuple(modules)
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self.broken: str | None = None
        """Why a process could not start (its imports failed): calls fail at once, saying so."""
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        """Start a worker; it joins the idle ones once it has imported its modules, so a
        call never waits on a process still starting (nor is stopped for its start-up)."""
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self._modules), daemon=True, name="leadbook-compute"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        threading.Thread(target=self._when_ready, args=(worker,), daemon=True).start()

    def _when_ready(self, worker: _Worker) -> None:
        try:
            ready = worker.conn.recv()
        except (EOFError, OSError):
            ready = None
        if ready == READY:
            self._idle.put(worker)
        else:
            log.error("leadbook: a compute process could not start (%s)", ready)
            self.broken = str(ready)
            worker.process.kill()
            worker.process.join(5)
            worker.conn.close()

    def call(
        self,
        target: str,
        args: tuple,
        kwargs: dict,
        *,
        deadline: float,
        stop: threading.Event | None = None,
    ) -> Any:
        """``target(*args, **kwargs)`` in a worker (``target`` is "module:function"); raises
        what it raises, or :class:`CallStoppedError` at ``deadline`` (``time.monotonic()``) or
        when ``stop`` is set."""
        stop = stop or threading.Event()
        worker = self._take(deadline, stop)
        try:
            worker.conn.send((target, args, kwargs))  # pickled whole before a byte is sent
        except Exception:  # arguments that do not pickle: the worker never saw them
            self._idle.put(worker)
            raise
        try:
            while not worker.conn.poll(POLL_SECONDS):
                if not worker.process.is_alive():
                    raise CallStoppedError("its compute process died")
                if stop.is_set():
                    raise CallStoppedError("its caller is gone")
                if time.monotonic() > deadline:
                    raise CallStoppedError("it ran past the time limit", timed_out=True)
            ok, value = worker.conn.recv()
        except CallStoppedError as exc:
            self._replace(worker, str(exc))
            raise
        except (EOFError, OSError) as exc:
            self._replace(worker, "it died")
            raise CallStoppedError(f"its compute process died ({exc!r})") from None
        except Exception as exc:  # an answer that does not unpickle here
            self._replace(worker, "its answer could not be read")
            raise CallStoppedError(f"its answer could not be read ({exc!r})") from None
        self._idle.put(worker)
        if ok:
            return value
        raise value

    def _take(self, deadline: float, stop: threading.Event) -> _Worker:
        while True:
            try:
                return self._idle.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self.broken:
                    message = f"a compute process could not start: {self.broken}"
                    raise CallStoppedError(message) from None
                if stop.is_set():
                    raise CallStoppedError("its caller is gone") from None
                if time.monotonic() > deadline:
                    raise CallStoppedError(
                        "no compute process came free in time", timed_out=True
                    ) from None

    def _replace(self, worker: _Worker, why: str) -> None:
        """End ``worker``'s process (whatever it is computing) and start a fresh one."""
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        log.warning("leadbook: stopped a compute process (pid %s): %s", worker.process.pid, why)
        self._spawn()

    def pids(self) -> list[int | None]:
        """The process ids of the idle workers, ready for a call (for tests and diagnostics)."""
        return [w.process.pid for w in list(self._idle.queue)]

    def close(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.process.kill()
            worker.conn.close()


def _serve(conn: Connection, modules: Sequence[str]) -> None:
    """A worker: import ``modules``, then answer calls until the pipe closes."""
    try:
        for module in modules:
            importlib.import_module(module)
    except Exception as exc:
        conn.send(f"importing {module}: {exc!r}")
        return
    conn.send(READY)
    while True:
        try:
            target, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        module, name = target.split(":")
        try:
            answer = (True, getattr(importlib.import_module(module), name)(*args, **kwargs))
        except Exception as exc:
            answer = (False, exc)
        try:
            conn.send(answer)
        except Exception as exc:  # an answer or an error that does not pickle
            with contextlib.suppress(Exception):
                conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
