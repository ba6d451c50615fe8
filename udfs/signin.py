"""Sign-in to ``leadbook serve``: leadbook's own tokens, or the provider the operator chose.

The tokens are the server's, never the workbook's: one token for everyone
(:data:`TOKEN_ENV`, made and kept on first use by :func:`ensure_token`) or a file of one token
per user (:data:`TOKENS_FILE_ENV`). :func:`sign_in_refusal` says what to tell a caller whose
``Authorization`` header signs no one in; the edge (:mod:`udfs.edge`) asks it before reading a
request's body.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from leadbook.errors import LeadbookError

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
