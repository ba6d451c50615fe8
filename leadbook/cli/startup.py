"""The ``leadbook`` process around a command: where its log goes, a reader of its output that
went away, and the libraries a command needs, imported with the garbage collector paused.

An import only adds objects that live until the process exits, and a cyclic collection
during one walks every object alive and frees nothing: while a command imports its job and
the big libraries the job calls (pandas, openpyxl, scipy's solver, statsmodels' ETS;
scikit-learn and skops for the lead model), the collector is paused (:func:`preload`), and
what they made is frozen (:func:`gc.freeze`: never walked again). On the demo, under load,
collections took 0.14 s of ``leadbook rebalance`` and 0.56 s of ``score-leads`` before, and
0.08 s and 0.12 s after (issue 16). Only the
``leadbook`` process itself freezes (:func:`owned_process`, entered by
:func:`leadbook.cli.main`); a command invoked inside another process (a test runner's)
leaves that process's collector as it was.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

FORECAST_FITS = "statsmodels.tsa.exponential_smoothing.ets"
"""The library the forecast-based jobs (refresh, forecast, plan) fit their series with."""

_OWNED: ContextVar[bool] = ContextVar("leadbook_owns_the_process", default=False)
"""Whether the running command is the whole process (:func:`owned_process`)."""


@contextlib.contextmanager
def owned_process() -> Iterator[None]:
    """Run a command as the whole process: what is alive now (the modules) is frozen,
    :func:`preload` freezes what the command imports, and what is alive when the command
    ends is frozen too: the process is about to exit, and the collections Python runs while
    it shuts down walked every object left (0.07 s of the 0.12 s a refresh took to exit)."""
    token = _OWNED.set(True)
    gc.freeze()  # the modules' objects: never garbage, never looked at again
    try:
        yield
    finally:
        _OWNED.reset(token)
        gc.freeze()


def preload(*modules: str) -> None:
    """Import ``modules``, in order, with the cyclic garbage collector paused; in the
    ``leadbook`` process (:func:`owned_process`), freeze what they made.

    A command names its job's module and the big libraries the job imports only when it
    computes (the solver, the lead model's), so that their imports too run paused.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        if _OWNED.get():
            gc.freeze()
        if collecting:
            gc.enable()


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError
    (what Python's documentation advises for SIGPIPE)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is logged (a test runner swaps it;
    a handler holding the first one would write to a closed stream: 'Logging error')."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass
