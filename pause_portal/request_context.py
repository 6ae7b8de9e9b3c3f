"""Who is acting, from where, in which request: set by middleware for web requests and by
tasks for work done on someone's behalf, read by the audit writers."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    actor_id: int | None = None
    remote_addr: str | None = None
    page: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "portal_request_context", default=RequestContext()  # noqa: B039 - frozen, immutable
)


def current() -> RequestContext:
    return _current.get()


def bind(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
