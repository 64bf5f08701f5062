"""What stands in front of every request: read-only methods, the token, the Host header.

Bound to 127.0.0.1 or ::1 no token is needed, but the Host header must name a
loopback host: a web page elsewhere cannot reach the viewer by pointing its own
domain at 127.0.0.1 (DNS rebinding). Bound to any other address, every request
needs the token the server printed: ``?token=`` once (then kept in a cookie) or
``Authorization: Bearer TOKEN``; without it the answer is 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "autoplug_ui_token"
LOOPBACK = ("127.0.0.1", "::1")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

#: Headers on every answer: the page may load only from its own origin.
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        b" connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def needs_token(address: str) -> bool:
    """Whether a server bound to ``address`` (an IP address) requires the token."""
    return address not in LOOPBACK


def new_token() -> str:
    """A fresh random token (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(24)


class Gate:
    """ASGI middleware: refuse writes, check the Host (loopback) or the token (elsewhere).

    :param app: the application behind the gate.
    :param token: the required token, or None on a loopback address.
    :param port: the port served, to check the Host header on loopback.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES} | (
            set(LOOPBACK_NAMES) if port == 80 else set()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _refuse(send, 405, "the viewer is read-only: only GET and HEAD are served")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        set_cookie = False
        if self.token is None:
            if headers.get("host", "").lower() not in self.hosts:
                await _refuse(
                    send, 403, "this viewer answers only requests addressed to a loopback host"
                )
                return
        else:
            given = _given_token(scope, headers)
            if given is None or not secrets.compare_digest(
                given[0].encode("utf-8"), self.token.encode("utf-8")
            ):
                await _refuse(
                    send,
                    403,
                    "this viewer needs the token it printed when it started: open the printed"
                    " URL (?token=...) or send 'Authorization: Bearer TOKEN'",
                )
                return
            set_cookie = given[1] == "query"
        await self.app(scope, receive, self._wrap(send, set_cookie))

    def _wrap(self, send: Send, set_cookie: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += list(SECURITY_HEADERS)
                if set_cookie and self.token is not None:
                    value = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    headers.append((b"set-cookie", value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def _given_token(scope: Scope, headers: dict[str, str]) -> tuple[str, str] | None:
    """The token the request carries and where: ``header``, ``query`` or ``cookie``."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "header"
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], "query"
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is simply no token
        return None
    if COOKIE in cookie:
        return cookie[COOKIE].value, "cookie"
    return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = f"error: {message}\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
