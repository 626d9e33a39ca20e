"""FastAPI dependencies shared by every service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from portfeil.consttime import text_equal
from portfeil.context import AppContext
from portfeil.errors import PortfeilError


class Unauthorized(PortfeilError):
    status = 401
    default_code = "unauthorized"


def ctx_of(request: Request) -> AppContext:
    """The application context of a request (for endpoints that take only the request)."""
    ctx: AppContext = request.app.state.ctx
    return ctx


async def get_ctx(request: Request) -> AppContext:
    """The application context. ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a worker
    thread, a thread hop per request (measured: the largest framework cost of a request under load)."""
    return ctx_of(request)


Ctx = Annotated[AppContext, Depends(get_ctx)]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_operator(ctx: Ctx, authorization: Annotated[str | None, Header()] = None) -> None:
    """Operator endpoints: ``Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>``."""
    token = bearer_token(authorization)
    expected = ctx.settings.operator_token.get_secret_value()
    if token is None or not text_equal(token, expected):
        raise Unauthorized("operator_token_required", "a valid operator bearer token is required")


Operator = Depends(require_operator)
