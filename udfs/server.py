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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import importlib.util
import inspect
import json
import math
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbook.errors import LeadbookError
from udfs.pool import CallStoppedError, ComputePool

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


AUTH_PROVIDER = "leadbook"
"""The sign-in provider ``leadbook serve`` switches on (udfs/server_project/auth/leadbook)."""
TOKEN_ENV = "LEADBOOK_TOKEN"
"""One sign-in token for everyone (the files of all its users go to one ``shared`` folder)."""
TOKENS_FILE_ENV = "LEADBOOK_TOKENS_FILE"
"""A file of ``user token`` lines: one token per user, each user's files in their own folder."""
MIN_TOKEN = 24
"""The shortest token accepted: 24 random characters are beyond guessing over HTTP."""
SHARED_USER = "shared"


def tokens(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The sign-in tokens the server knows: token → user (None: the shared token).

    Raises :class:`~leadbook.errors.LeadbookError` naming the setting, file and line of a
    token that is too short, repeated, or a line that is not ``user token``.
    """
    environ = os.environ if environ is None else environ
    found: dict[str, str | None] = {}
    shared = environ.get(TOKEN_ENV, "").strip()
    if shared:
        if len(shared) < MIN_TOKEN:
            raise LeadbookError(f"{TOKEN_ENV} must be at least {MIN_TOKEN} characters long")
        found[shared] = None
    listed = environ.get(TOKENS_FILE_ENV, "").strip()
    if listed:
        found |= _tokens_file(Path(listed))
    return found


def _tokens_file(path: Path) -> dict[str, str | None]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LeadbookError(f"{TOKENS_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    found: dict[str, str | None] = {}
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}, line {number}"
        if len(words) != 2:
            raise LeadbookError(f"{where}: expected 'user token', got {len(words)} word(s)")
        user, token = words
        if user == SHARED_USER:
            raise LeadbookError(f"{where}: the name {SHARED_USER!r} is kept for LEADBOOK_TOKEN")
        if len(token) < MIN_TOKEN:
            raise LeadbookError(f"{where}: {user}'s token must be at least {MIN_TOKEN} characters")
        if token in found:
            raise LeadbookError(f"{where}: {user}'s token is also {found[token]}'s")
        found[token] = user
    return found


def signed_in_user(header: str) -> str | None:
    """The user an ``Authorization`` header's token signs in (:data:`SHARED_USER` for the
    shared token), or None. Every known token is compared in constant time."""
    given = header.strip().removeprefix("Bearer ").strip().encode()
    user = None
    for token, who in tokens().items():
        if hmac.compare_digest(given, token.encode()):
            user = who or SHARED_USER
    return user


def auth_providers(environ: Mapping[str, str] | None = None) -> list[str]:
    """The sign-in providers ``XLWINGS_AUTH_PROVIDERS`` lists (leadbook's when it is unset).

    Examples
    --------
    >>> auth_providers({})
    ['leadbook']
    >>> auth_providers({"XLWINGS_AUTH_PROVIDERS": '["entraid"]'})
    ['entraid']
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("XLWINGS_AUTH_PROVIDERS")
    if raw is None:
        return [AUTH_PROVIDER]
    try:
        listed = json.loads(raw)
    except ValueError:
        listed = None
    if not (isinstance(listed, list) and all(isinstance(p, str) for p in listed)):
        raise LeadbookError(
            f"XLWINGS_AUTH_PROVIDERS must be a JSON list of provider names, such as "
            f'["entraid"], not {raw!r}'
        )
    return listed


def leadbook_sign_in() -> bool:
    """Whether leadbook's own tokens sign users in (checked at the edge, before the body)."""
    return AUTH_PROVIDER in auth_providers()


def sign_in_refusal(header: str) -> str | None:
    """What to tell a caller whose ``Authorization`` header signs no one in; None if it does."""
    if signed_in_user(header) is not None:
        return None
    if not header.strip().removeprefix("Bearer").strip():
        return (
            "leadbook serve needs your sign-in token: paste it into Sign in on the leadbook "
            "task pane (whoever runs the server has it)"
        )
    return (
        "that sign-in token is not one this server knows: paste the current one into Sign in "
        "on the leadbook task pane"
    )


def ensure_token(folder: Path) -> str | None:
    """With sign-in on and no token set, the token kept in ``folder`` (made on first use,
    readable by the server's user only), set as :data:`TOKEN_ENV`; it is returned so the
    command can show it. None when tokens are set or sign-in is off."""
    if not leadbook_sign_in():
        return None
    if os.environ.get(TOKEN_ENV, "").strip() or os.environ.get(TOKENS_FILE_ENV, "").strip():
        return None
    path = folder / "server-token"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    token = path.read_text().strip()
    if len(token) < MIN_TOKEN or len(token.split()) != 1:
        raise LeadbookError(
            f"{path} does not hold a sign-in token of at least {MIN_TOKEN} characters: "
            "delete it, and leadbook serve makes a new one"
        )
    os.environ[TOKEN_ENV] = token
    return token


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
    "statsmodels.tsa.exponential_smoothing.ets",  # imported by leadbook.planning.forecast's models
    "statsmodels.tsa.forecasting.theta",
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


CALL_PATH = "/xlwings/custom-functions-call"
SCRIPT_PATH = "/xlwings/custom-scripts-call/"
LARGE_BODY = 256 * 1024
"""Bodies from this size on are looked at before xlwings Server parses them."""
MAX_BODY_ENV = "LEADBOOK_MAX_REQUEST_MB"
"""The largest request body the server reads, in megabytes (default :data:`DEFAULT_MAX_MB`)."""
DEFAULT_MAX_MB = 32.0
"""A whole column from desktop Excel is 2–9 MB; the demo workbook as a button sends it, 0.3 MB."""
_FUNC_NAME = re.compile(rb'"func_name"\s*:\s*"(\w+)"')
CALL_SHAPE = {
    "func_name": str,
    "args": list,
    "version": str,
    "client": str,
    "runtime": str,
    "date_format": str,
}
"""The members of a cell function call that xlwings reads, and their JSON types."""
_BAD_SHAPE = f"the call must be a JSON object with {', '.join(CALL_SHAPE)}, as xlwings sends"


def max_body_bytes() -> int:
    """The largest request body the server reads (:data:`MAX_BODY_ENV`)."""
    raw = os.environ.get(MAX_BODY_ENV, "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_MB
    except ValueError:
        raise LeadbookError(f"{MAX_BODY_ENV} must be a number of megabytes, got {raw!r}") from None
    if not (math.isfinite(mb) and mb > 0):
        raise LeadbookError(f"{MAX_BODY_ENV} must be a number of megabytes above 0, got {raw!r}")
    return round(mb * 1024**2)


class RefusedError(Exception):
    """A request answered at the edge, before xlwings Server sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Edge:
    """ASGI middleware: what reaches xlwings Server is a request the add-in could have sent.

    Every POST (there are two routes: a cell function call, a button script) must come from
    the add-in's own origin (or one in ``XLWINGS_CORS_ALLOW_ORIGINS``; clients that send no
    Origin, such as scripts, are not browsers a page can steer), carry JSON — a cross-site
    page can send ``text/plain`` without asking, never ``application/json`` — hold at most
    :func:`max_body_bytes`, and name a function or script leadbook serves; anything else is
    answered 4xx here, with a message, and never reaches xlwings Server's 500 handler.

    A cell function call's body is also made small before it is parsed. xlwings Server
    parses a call's JSON on the event loop, where a whole column (1,048,576 rows, 5–9 MB)
    held every other request for over a second. Here, on bytes, with C-speed regular
    expressions: runs of blank rows at the end of a range (Excel on the web sends empty
    cells as null) shrink to one row, and a body that still holds more cells than a call
    takes (desktop Excel sends empty cells as 0) is answered at once with the message its
    cell shows. And when the caller leaves before its answer, the call is cancelled, which
    stops its compute process.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not _host_allowed(scope):
            await _plain_text(send, 421, "without sign-in this server answers only 127.0.0.1")
            return
        if not (scope["type"] == "http" and scope["method"] == "POST"):
            await self.inner(scope, receive, send)
            return
        try:
            _check_headers(scope)
        except RefusedError as refused:
            await _plain_text(send, refused.status, str(refused))
            return
        if leadbook_sign_in():
            # Before the body is read: a caller without a token costs the server nothing
            # (a 30 MB body used to be read and parsed first, holding every other call).
            headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
            refusal = sign_in_refusal(headers.get("authorization", b"").decode("latin-1"))
            if refusal:
                await _json_detail(send, 401, refusal)
                return
        try:
            body = await _read_body(receive, max_body_bytes())
            if body is None:  # the client left while sending
                return
            if scope["path"].endswith(CALL_PATH):
                if len(body) >= LARGE_BODY:
                    body = _trim_blank_rows(body)
                    refusal = _too_many_cells(body)
                    if refusal:
                        raise RefusedError(400, refusal)
                _check_call(body)
            else:
                await _check_script(scope["path"], body)
        except RefusedError as refused:
            await _plain_text(send, refused.status, str(refused))
            return
        sent = False
        gone = asyncio.ensure_future(receive())  # the next message: the client leaving

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await asyncio.shield(gone)

        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        inner = asyncio.ensure_future(self.inner({**scope, "headers": headers}, replay, send))
        await asyncio.wait({inner, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not inner.done():  # the client left before its answer: stop computing it
            inner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await inner
            return
        gone.cancel()
        await inner  # its outcome, errors included


def _check_headers(scope: dict) -> None:
    """Refuse a POST from another site's page, not of JSON, or declared too large."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    origin = headers.get("origin")
    if origin is not None and not _allowed_origin(origin, headers.get("host", "")):
        raise RefusedError(403, f"requests from {origin} are not accepted by this server")
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        sent = kind or "no type"
        raise RefusedError(415, f"the server takes JSON (application/json), not {sent}")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body_bytes():
        raise RefusedError(413, _too_large(int(declared)))


def _host_allowed(scope: dict) -> bool:
    """Without sign-in (loopback only), a request must name this machine as its host: a web
    page whose name was re-pointed at 127.0.0.1 (DNS rebinding) is its own origin to the
    browser, so only the Host header tells it from the add-in."""
    if auth_providers():
        return True
    from urllib.parse import urlsplit

    headers = dict(scope["headers"])
    name = urlsplit("//" + headers.get(b"host", b"").decode("latin-1")).hostname or ""
    return name in ("127.0.0.1", "localhost", "::1")


def _allowed_origin(origin: str, host: str) -> bool:
    from urllib.parse import urlsplit

    if urlsplit(origin).netloc.lower() == host.lower():
        return True  # the add-in's own pages: the task pane and the functions' runtime
    from xlwings_server.config import settings

    return origin in (settings.cors_allow_origins or ()) or "*" in (
        settings.cors_allow_origins or ()
    )


def _too_large(size: int) -> str:
    return (
        f"the request holds {size / 1024**2:.3g} MB, more than the "
        f"{max_body_bytes() / 1024**2:.3g} MB this server takes ({MAX_BODY_ENV}): give smaller "
        "ranges (a Table column rather than a whole column)"
    )


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The request's body, refused as soon as it passes ``limit``; None if the client left."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RefusedError(413, _too_large(size))
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _check_call(body: bytes) -> None:
    """Refuse a cell function call that names no function leadbook serves, or is not JSON
    of the shape xlwings' client sends (big bodies are checked by their head only)."""
    from udfs import functions

    if len(body) < LARGE_BODY:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise RefusedError(400, f"the call is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), t) for k, t in CALL_SHAPE.items()
        ):
            raise RefusedError(400, _BAD_SHAPE)
        name = data["func_name"]
    else:
        if not all(re.search(rb'"%s"\s*:' % k.encode(), body) for k in CALL_SHAPE):
            raise RefusedError(400, _BAD_SHAPE)
        # Checked on bytes, all of it: a second func_name further on is the one json keeps.
        named = _FUNC_NAME.findall(body)
        if len(named) > 1:
            raise RefusedError(400, "the call names more than one function (func_name)")
        name = named[0].decode() if named else None
    if name is None:
        raise RefusedError(400, "the call names no function (func_name)")
    if name not in functions.__all__:
        raise RefusedError(
            404,
            f"leadbook has no function {name!r}: reload the add-in (Excel may hold an old "
            "list of functions)",
        )


async def _check_script(path: str, body: bytes) -> None:
    """Refuse a button call for a script leadbook does not serve, or whose body is not a
    JSON object (parsed in a thread: a workbook's payload can be megabytes)."""
    from udfs import scripts

    name = path.rsplit(SCRIPT_PATH, 1)[-1] if SCRIPT_PATH in path else ""
    served = [n for n in scripts.__all__ if hasattr(getattr(scripts, n), "__xlscript__")]
    if name not in served:
        raise RefusedError(404, f"leadbook has no button script {name!r}; reload the add-in")
    try:
        data = await asyncio.to_thread(json.loads, body)
    except (ValueError, RecursionError) as exc:
        raise RefusedError(400, f"the button's request is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RefusedError(400, "the button's request must be a JSON object (the workbook)")


MIN_RUN = 1000
"""The fewest blank rows in a run that :func:`_trim_blank_rows` cuts: the cut is for whole
columns, and a text would have to repeat a blank row a thousand times to be taken for one."""
_RUN_START = re.compile(rb',\[(?:null|"")')
_BLANK_ROW = re.compile(rb',\[(?:null|"")(?:,(?:null|""))*\]')


def _trim_blank_rows(body: bytes) -> bytes:
    """``body`` with each run of at least :data:`MIN_RUN` identical blank rows that ends a
    range cut to its first row (one is kept: see :func:`udfs.convert._used`). Runs are
    measured by comparing memory, not by parsing, and the body is rebuilt once: a million
    rows take milliseconds.

    >>> blank = b",[null,null]" * 1500
    >>> _trim_blank_rows(b'{"args":[[[1,2]' + blank + b'],[[3]]]}')
    b'{"args":[[[1,2],[null,null]],[[3]]]}'
    """
    kept, done = [], 0
    found = _RUN_START.search(body)
    while found:
        at = found.start()
        row = _BLANK_ROW.match(body, at)
        end = at
        if row:
            token = row.group()
            step = 1
            while step:  # gallop over identical rows, then narrow down
                if body.startswith(token * step, end):
                    end += len(token) * step
                    step *= 2
                else:
                    step //= 2
            rows = (end - at) // len(token)
            if rows >= MIN_RUN and body[end : end + 1] == b"]":
                kept.append(body[done : at + len(token)])  # the run ends its range
                done = end
        found = _RUN_START.search(body, max(end, at + 1))
    return b"".join([*kept, body[done:]]) if kept else body


def _too_many_cells(body: bytes) -> str | None:
    """The message for a call whose ranges hold more cells than a call takes, or None.
    (Commas over-count cells only by the commas inside texts.)"""
    from udfs.convert import MAX_CELLS

    cells = body.count(b",")
    if cells <= MAX_CELLS + 64:
        return None
    found = _FUNC_NAME.search(body[:4096])
    name = found.group(1).decode().replace("LB_", "LB.", 1) if found else "the function"
    return (
        f"{name}: its ranges hold about {cells:,} cells, more than the {MAX_CELLS:,} a call "
        "takes in all. Give the ranges of the data, or Table columns (History[Leads]), which "
        "grow with the data (a whole column from desktop Excel arrives with its empty cells "
        "as 0, all of them)."
    )


async def _json_detail(send: Any, status: int, text: str) -> None:
    """An answer as xlwings Server's own refusals are shaped (its client reads ``detail``)."""
    payload = json.dumps({"detail": text}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _plain_text(send: Any, status: int, text: str) -> None:
    payload = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(payload)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
