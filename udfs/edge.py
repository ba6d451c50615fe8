"""The edge of ``leadbook serve``: what reaches xlwings Server is a request the add-in could
have sent.

:class:`Edge` is ASGI middleware in front of xlwings Server's app: it refuses (4xx, with a
message) a request from another site's page, not of JSON, too large, of an unknown function
or script, or without sign-in; it makes a large cell function call small on its bytes before
it is parsed (runs of blank rows at the end of a range shrink to one row); and it cancels a
call whose caller has left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
from typing import Any

from leadbook.errors import LeadbookError
from udfs.signin import auth_providers, leadbook_sign_in, sign_in_refusal

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
