"""The token a dashboard asks for when it is given one (always, on an address other than loopback):
``Authorization: Bearer <token>``, or ``?token=<token>`` once in the page's URL, which sets an
HttpOnly cookie for the page's own requests. Compared in constant time."""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command imports this module: keep `proxx --help` free of web imports
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "proxx_dashboard_token"
ENV = "PROXX_DASHBOARD_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


class TokenGate:
    """ASGI middleware: 401 unless the request carries the token."""

    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse

        request = Request(scope)
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
        query = request.query_params.get("token")
        if matches(bearer, self.token) or matches(request.cookies.get(COOKIE), self.token):
            await self.app(scope, receive, send)
            return
        if not matches(query, self.token):
            response = PlainTextResponse(
                "401: this dashboard needs its token: open it as /?token=<token> or send "
                "'Authorization: Bearer <token>' (the token given with --token or PROXX_DASHBOARD_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
