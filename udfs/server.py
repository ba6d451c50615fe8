"""``leadbook serve``: leadbook's cell functions and buttons over xlwings Server.

xlwings Server (the ``xlwings-server`` package, installed by ``pip install
"leadbook[server]"``) is licensed under PolyForm Noncommercial or a paid xlwings licence:
commercial use — including internal tools at a company — needs a paid licence key in
``XLWINGS_LICENSE_KEY``; non-commercial use may set it to ``noncommercial``.

The server reads its project from :data:`PROJECT_DIR` (shipped inside this package): its
``custom_functions`` and ``custom_scripts`` modules expose :func:`server_functions` and
:func:`server_scripts`, and its task pane has a button per script. Excel names the
functions ``LB.TIER``, ``LB.SCORES``… (the add-in's namespace is ``LB``).

On the server, cell functions run in a pool of compute processes (``--workers``, default
up to 4): the server's event loop stays free while they compute, and concurrent calls run
in parallel — threads would not do, since leadbook's pandas work holds Python's GIL
(``benchmarks/excel_concurrency.py`` measures both). Scripts (buttons) run in a thread.

Nothing here imports xlwings at import time: xlwings decides what its decorators do when it
is first imported, so :func:`configure` must run before (``XLWINGS_ON_SERVER=true``).

Sign-in is :mod:`udfs.signin`; the checks every request passes before xlwings Server sees it
are :mod:`udfs.edge`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.util
import inspect
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbook.errors import LeadbookError
from udfs.edge import Edge, max_body_bytes
from udfs.pool import CallStoppedError, ComputePool
from udfs.signin import AUTH_PROVIDER, SHARED_USER, auth_providers, ensure_token, tokens

PROJECT_DIR = Path(__file__).parent / "server_project"
NAMESPACE = "LB"
MANIFEST_ID = "e4a853d0-c7cc-4121-a93f-430181f58855"
"""leadbook's add-in id: stable, so Excel recognises the add-in across restarts."""
CERT_NAMES = (("localhost+2.pem", "localhost+2-key.pem"), ("cert.pem", "key.pem"))
"""Certificate and key file names looked for: mkcert's (``mkcert localhost 127.0.0.1 ::1``),
then generic ones."""
WORKERS_ENV = "LEADBOOK_COMPUTE_WORKERS"
"""How many processes compute cell functions; 0 computes in a thread of the server."""
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
LICENSE_HELP = (
    "xlwings Server needs a licence key in the environment variable XLWINGS_LICENSE_KEY: "
    "your paid xlwings key for commercial use (internal company tools count as commercial), "
    "or the word noncommercial for non-commercial use (PolyForm Noncommercial 1.0.0). "
    "The classic xlwings add-in and xlwings Lite need no key."
)
SERVER_EXTRA_HELP = 'leadbook serve needs xlwings Server: pip install "leadbook[server]"'


def configure(environ: MutableMapping[str, str] | None = None) -> None:
    """Point xlwings Server at leadbook's project; call before anything imports xlwings.

    Settings already in the environment win (``XLWINGS_PORT``-style overrides).
    """
    environ = os.environ if environ is None else environ
    if "xlwings" in sys.modules and environ.get("XLWINGS_ON_SERVER") != "true":
        raise RuntimeError(
            "xlwings was imported before leadbook configured xlwings Server, so its "
            "decorators are inactive; set XLWINGS_ON_SERVER=true before importing xlwings"
        )
    environ["XLWINGS_ON_SERVER"] = "true"
    defaults = {
        "XLWINGS_PROJECT_DIR": str(PROJECT_DIR),
        "XLWINGS_PROJECT_NAME": "leadbook",
        "XLWINGS_FUNCTIONS_NAMESPACE": NAMESPACE,
        "XLWINGS_MANIFEST_ID_PROD": MANIFEST_ID,
        "XLWINGS_ENVIRONMENT": "prod",
        # leadbook streams nothing; socket.io would need Redis with several workers.
        "XLWINGS_ENABLE_SOCKETIO": "false",
        "XLWINGS_ENABLE_HOTRELOAD": "false",
        # Sign-in on by default: a token (udfs/server_project/auth/leadbook); the operator
        # may choose xlwings Server's Entra ID instead, or none with --no-auth.
        "XLWINGS_AUTH_PROVIDERS": f'["{AUTH_PROVIDER}"]',
    }
    for key, value in defaults.items():
        environ.setdefault(key, value)


def server_functions() -> dict[str, Callable[..., Any]]:
    """leadbook's cell functions as xlwings Server serves them: each runs in a thread, and
    Excel names it under the add-in's namespace (``LB.TIER``)."""
    from udfs import functions

    return {name: _function_offloaded(getattr(functions, name)) for name in functions.__all__}


def server_scripts() -> dict[str, Callable[..., Any]]:
    """leadbook's button scripts as xlwings Server serves them, each run in a thread."""
    from udfs import scripts

    found = {name: getattr(scripts, name) for name in scripts.__all__}
    return {name: _script_in_thread(s) for name, s in found.items() if hasattr(s, "__xlscript__")}


def _function_offloaded(f: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(f)

    @functools.wraps(f)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            from xlwings import XlwingsError

            excel_name = f.__name__.replace("LB_", "LB.", 1)
            raise XlwingsError(
                f"{excel_name} takes {len(signature.parameters)} arguments "
                f"({', '.join(signature.parameters)}); Excel sent {len(args) + len(kwargs)}. "
                "Reload the add-in: Excel holds an old list of functions"
            ) from None
        return await compute(f, args, kwargs)

    # The manifest's namespace (LB) names the function; the module's would double it.
    # Arguments pass unconverted ("raw"): udfs.convert reads them, while xlwings' own
    # conversion costs about 0.1 ms a cell on the event loop (xlwings 0.37.8 retries a failing
    # `from pyodide.ffi import JsNull` for every cell outside Pyodide).
    args = [{**a, "options": {**a["options"], "convert": "raw"}} for a in f.__xlfunc__["args"]]
    call.__xlfunc__ = {**f.__xlfunc__, "namespace": "", "args": args}  # type: ignore[attr-defined]
    return call


CALL_SECONDS_ENV = "LEADBOOK_CALL_SECONDS"
"""The longest a cell function may take on the server, in seconds (waiting for a compute
process included); past it, the call is stopped and its cell says so."""
DEFAULT_CALL_SECONDS = 120.0
"""Below the 300 s after which xlwings' Excel client gives up (``requestTimeout``), so a call
is stopped before its caller is gone."""


def call_seconds() -> float:
    """The time limit per cell function call (:data:`CALL_SECONDS_ENV`)."""
    raw = os.environ.get(CALL_SECONDS_ENV, "")
    try:
        limit = float(raw) if raw.strip() else DEFAULT_CALL_SECONDS
    except ValueError:
        message = f"{CALL_SECONDS_ENV} must be a number of seconds, got {raw!r}"
        raise LeadbookError(message) from None
    if not (math.isfinite(limit) and limit > 0):
        raise LeadbookError(f"{CALL_SECONDS_ENV} must be a number of seconds above 0, got {raw!r}")
    return limit


@functools.cache
def _call_threads() -> ThreadPoolExecutor:
    """Threads that wait on the compute processes for the event loop (apart from asyncio's
    default threads, which run the buttons: cells waiting for a process never hold up a
    button)."""
    return ThreadPoolExecutor(64, thread_name_prefix="leadbook-call")


async def compute(f: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``f(*args, **kwargs)`` off the event loop, within the time limit: in a compute
    process (stopped when the limit passes or the caller goes), or in a thread."""
    from xlwings import XlwingsError

    workers = int(os.environ.get(WORKERS_ENV, DEFAULT_WORKERS))
    limit = call_seconds()
    stop = threading.Event()
    run = functools.partial(_run_call, f, args, kwargs, workers, time.monotonic() + limit, stop)
    loop = asyncio.get_running_loop()
    try:
        if workers == 0:  # a thread cannot be stopped: the cell gets its message, that is all
            return await asyncio.wait_for(loop.run_in_executor(_call_threads(), run), limit)
        return await loop.run_in_executor(_call_threads(), run)
    except asyncio.CancelledError:
        stop.set()  # the caller is gone: end its computation
        raise
    except (TimeoutError, CallStoppedError) as exc:
        raise XlwingsError(_stopped_message(f.__name__, limit, exc)) from None


def _run_call(
    f: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    workers: int,
    deadline: float,
    stop: threading.Event,
) -> Any:
    from udfs import convert

    try:
        names = [a["name"] for a in getattr(f, "__xlfunc__", {}).get("args", [])]
        args = convert.at_edge(f.__name__, args, names)
    except LeadbookError as exc:
        from xlwings import XlwingsError

        raise XlwingsError(str(exc)) from None
    if workers == 0:
        return f(*args, **kwargs)
    target = f"udfs.functions:{f.__name__}"
    return compute_pool(workers).call(target, args, kwargs, deadline=deadline, stop=stop)


def _stopped_message(name: str, limit: float, why: BaseException) -> str:
    excel_name = name.replace("LB_", "LB.", 1)
    if isinstance(why, CallStoppedError) and not why.timed_out:
        return f"{excel_name} stopped: {why}; the server's log has more"
    return (
        f"{excel_name} was stopped after {limit:g} s, the server's limit per call "
        f"({CALL_SECONDS_ENV}): give it smaller ranges (a Table column rather than a whole "
        "column), or ask whoever runs leadbook serve to raise the limit"
    )


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Each compute process does its linear algebra on one thread (unless these are set): the
pool is the parallelism, and N processes running numpy's default BLAS thread per core would
oversubscribe the cores (a process's first LB.ALLOCATE from the hiring plan fits statsmodels
models on 1.7 cores)."""


@functools.cache
def compute_pool(workers: int) -> ComputePool:
    """The processes that compute cell functions (started fresh: "spawn", one BLAS thread
    each, :data:`WARM_MODULES` imported)."""
    for variable in BLAS_THREADS:
        os.environ.setdefault(variable, "1")  # read by numpy when a process imports it
    return ComputePool(workers, WARM_MODULES)


WARM_MODULES = (
    "udfs.functions",
    "leadbook.allocation",  # scipy's HiGHS
    "leadbook.workbook.jobs.rebalance",
    "leadbook.planning.forecast",
    "leadbook.planning.series",  # LB.FORECAST
    "statsmodels.tsa.exponential_smoothing.ets",  # imported by leadbook.planning.methods
    "statsmodels.tsa.forecasting.theta",
    "statsmodels.tsa.statespace.sarimax",  # the forecast combination's airline model
)
"""What each compute process imports when it starts: the cell functions, and the modules
they import on first use. Without them a process's first LB.ALLOCATE call (whose sales
capacity may come from the hiring plan's forecast) spent about 0.8 s importing HiGHS, and
statsmodels on top when Settings ask for the hiring plan."""


def start_compute_processes() -> None:
    """Start the compute processes now, each importing :data:`WARM_MODULES`, so that the
    first calls wait neither for Python to start nor for imports (the server calls this
    when it loads the functions)."""
    workers = int(os.environ.get(WORKERS_ENV, DEFAULT_WORKERS))
    if workers:
        compute_pool(workers)


def _script_in_thread(decorated: Callable[..., Any]) -> Callable[..., Any]:
    """A button for xlwings Server: run in a thread, for the signed-in user (the folder its
    files go to, :func:`udfs.book.book_folder`)."""
    import xlwings as xw
    from xlwings import script
    from xlwings_server.models import CurrentUser

    from udfs.book import USER

    body = decorated.__wrapped__  # type: ignore[attr-defined]

    async def run(book: xw.Book, current_user: CurrentUser, formulas: Any = None) -> None:
        # With sign-in off, xlwings Server's user is a placeholder ("n/a"): nobody.
        # The shared token signs in everyone as one: their files share the shared folder.
        signed_in = getattr(current_user, "id", None)
        anyone = (None, "", "n/a", SHARED_USER)
        token = USER.set(None if signed_in in anyone else str(signed_in))
        try:
            # formulas: what leadbook's task pane adds to xlwings' request (the press's args)
            await asyncio.to_thread(body, book, formulas)  # the thread runs in this context
        finally:
            USER.reset(token)
            _settle_heap()

    run.__name__ = run.__qualname__ = body.__name__
    run.__doc__ = body.__doc__
    # xlwings finds the book and the user by these hints (real classes, not the strings
    # this module's postponed annotations would leave).
    run.__annotations__ = {
        "book": xw.Book,
        "current_user": CurrentUser,
        "formulas": dict[str, Any] | None,
        "return": None,
    }
    served = script(run)
    served.__xlscript__ = dict(decorated.__xlscript__)  # type: ignore[attr-defined]
    return served


_SETTLED = threading.Lock()
_settled = False


def _settle_heap() -> None:
    """Once per process, after its first button: collect, then freeze what is left (the
    modules, xlwings Server, leadbook's caches) out of Python's cyclic collector.

    A button builds openpyxl workbooks, whose cells and sheets hold each other, so a press
    sets off about one full collection, and each walked the whole warm server — some 400,000
    objects, 0.2 s of a 1.2 s press. Frozen, they are never walked again; what a press makes
    is still collected (only cyclic garbage among the frozen objects would stay).

    Then young objects are collected every :data:`YOUNG_COLLECTION` allocations, not every
    700: a press makes a million objects, most of them living until it ends (its workbooks),
    which some 170 young collections a press walked again and again (0.1 s of a 0.6 s
    press; 0.04 s at 10,000)."""
    global _settled
    with _SETTLED:
        if _settled:
            return
        _settled = True
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION, middle, old)


YOUNG_COLLECTION = 10_000
"""Allocations (less deallocations) between two collections of the youngest generation in a
warm server (Python's default: 700)."""


@dataclass(frozen=True)
class ServerPlan:
    """Where and how ``leadbook serve`` listens."""

    host: str
    port: int
    workers: int
    certfile: Path | None
    keyfile: Path | None
    sign_in: str = AUTH_PROVIDER
    """The sign-in provider(s), as XLWINGS_AUTH_PROVIDERS lists them; "" when off."""
    token: str | None = None
    """The shared token leadbook made and keeps (to show whoever starts the server)."""

    @property
    def url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def manifest(self) -> str:
        return f"{self.url}/manifest.xml"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def plan(host: str, port: int, workers: int, certs: Path, *, auth: bool = True) -> ServerPlan:
    """Check the licence key and the extra are there, find certificates in ``certs``, and
    settle sign-in: leadbook's tokens unless ``XLWINGS_AUTH_PROVIDERS`` chooses another
    provider (Entra ID), or none — with ``auth=False``, on this machine's loopback only."""
    if not os.environ.get("XLWINGS_LICENSE_KEY"):
        raise LeadbookError(LICENSE_HELP)
    # Found, not imported: xlwings Server reads its settings from the environment when it
    # is imported, which must wait for configure() (an import here served xlwings' stock
    # add-in: namespace XLWINGS, its id, its task pane).
    if not all(importlib.util.find_spec(m) for m in ("uvicorn", "xlwings_server")):
        raise LeadbookError(SERVER_EXTRA_HELP)
    if workers < 0:
        raise LeadbookError(f"--workers must be 0 (compute in a thread) or more, got {workers}")
    call_seconds()  # a bad limit stops the start, not every call
    max_body_bytes()
    found = find_certificates(certs)
    sign_in, token = _sign_in(host, auth)
    return ServerPlan(host, port, workers, *(found or (None, None)), sign_in, token)


def _sign_in(host: str, auth: bool) -> tuple[str, str | None]:
    if not auth:
        if host not in LOOPBACK:
            raise LeadbookError(
                f"--no-auth lets anyone who reaches {host} run leadbook; it is allowed on "
                "127.0.0.1 only. Give your team tokens (LEADBOOK_TOKENS_FILE) instead"
            )
        os.environ["XLWINGS_AUTH_PROVIDERS"] = "[]"
        return "", None
    chosen = auth_providers()
    if not chosen and host not in LOOPBACK:
        raise LeadbookError(
            f"XLWINGS_AUTH_PROVIDERS lists no sign-in provider, which lets anyone who reaches "
            f"{host} run leadbook; that is allowed on 127.0.0.1 only. Unset it (leadbook's "
            "tokens) or name a provider such as entraid"
        )
    if not chosen:
        return "", None
    if AUTH_PROVIDER not in chosen:
        return json.dumps(chosen), None  # the operator's choice, e.g. ["entraid"]
    tokens()  # a bad token file stops the start
    from udfs.book import FILES_ENV

    return AUTH_PROVIDER, ensure_token(Path(os.environ.get(FILES_ENV) or Path.home() / "leadbook"))


def find_certificates(folder: Path) -> tuple[Path, Path] | None:
    """``(certificate, key)`` in ``folder`` under a known pair of names, or None."""
    for cert, key in CERT_NAMES:
        if (folder / cert).is_file() and (folder / key).is_file():
            return folder / cert, folder / key
    return None


def serve(server: ServerPlan) -> None:
    """Run xlwings Server until interrupted: one uvicorn process, ``workers`` compute
    processes."""
    configure()
    os.environ[WORKERS_ENV] = str(server.workers)
    # What the server writes under LEADBOOK_FILES (users' workbook copies, models, packs,
    # its token) is for the server alone: no other account on the machine reads it.
    os.umask(0o077)
    import uvicorn

    uvicorn.run(
        app(),
        host=server.host,
        port=server.port,
        ssl_certfile=server.certfile,
        ssl_keyfile=server.keyfile,
        log_level="info",
    )


def app() -> Any:
    """xlwings Server's app behind leadbook's edge (:class:`Edge`); call after
    :func:`configure`."""
    from xlwings_server.main import main_app

    return Edge(main_app)
