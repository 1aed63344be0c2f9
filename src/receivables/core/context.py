"""Who is acting and through what, for the audit trail, carried through a request or command."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any = None
    via: str = "system"
    # The person who minted the API token in use, if one is.
    minted_by: Any = None
    request_id: str = ""
    client_address: str = ""


_current: contextvars.ContextVar[Actor] = contextvars.ContextVar(
    "receivables_actor",
    default=Actor(),  # noqa: B039 - Actor is frozen
)


def current() -> Actor:
    return _current.get()


@contextmanager
def acting(**fields: Any) -> Iterator[Actor]:
    """Set the acting user and channel for the code inside, restoring the outer one after."""
    actor = replace(_current.get(), **fields)
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_user(user: Any, via: str, minted_by: Any = None) -> None:
    """The API authenticates inside the request, after the middleware set the context."""
    _current.set(replace(_current.get(), user=user, via=via, minted_by=minted_by))


def new_request_id() -> str:
    return uuid.uuid4().hex
