"""The ``leadbook`` sign-in provider: a token per user, or one for the team.

xlwings Server calls :func:`validate_token` with the request's ``Authorization`` header,
which the add-in sets from the token pasted once into the task pane (static/js/auth.js).
The tokens are the server's (:func:`udfs.signin.signed_in_user`), never the workbook's.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from xlwings_server.models import User

from udfs.signin import sign_in_refusal, signed_in_user


async def validate_token(token_string: str) -> User:
    """The user whose token the request carries; 401 with what to do otherwise."""
    refusal = sign_in_refusal(token_string)
    user = signed_in_user(token_string)
    if refusal or user is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=refusal)
    return User(id=user, name=user)
