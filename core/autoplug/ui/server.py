"""Serving the viewer: the address, the token, uvicorn, the browser.

The socket is bound here, before uvicorn starts, so a port in use is one clear
error and ``--port 0`` can print the port the system chose.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import AutoplugError, UsageError
from .gate import needs_token, new_token


@dataclass(frozen=True)
class Bound:
    """A listening socket with what it is bound to and the URL to open."""

    sock: socket.socket
    address: str
    port: int
    token: str | None

    @property
    def url(self) -> str:
        """The URL to open, with ``?token=`` when one is needed.

        Bound to every address (``0.0.0.0``, ``::``), it names this machine by its
        host name, which other machines can use (a browser refuses ``0.0.0.0``).
        """
        address = socket.gethostname() if self.address in ("0.0.0.0", "::") else self.address
        host = f"[{address}]" if ":" in address else address
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/runs{query}"


def bind(host: str, port: int) -> Bound:
    """Listen on ``host``:``port`` (0: a free port); the token when ``host`` is not loopback.

    Raises :class:`UsageError` for a host that is no address of this machine's
    resolver or a port out of range, :class:`AutoplugError` when it cannot listen.
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host!r} is not an address or a known host name: {exc}") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise AutoplugError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using"
            " it? choose another with --port)"
        ) from None
    address, bound_port = sock.getsockname()[:2]
    return Bound(sock, address, bound_port, new_token() if needs_token(address) else None)


def serve(
    kernel: Any,
    bound: Bound,
    *,
    open_browser: bool,
    announce: Callable[[str], None],
) -> None:
    """Serve the viewer of ``kernel.home`` on ``bound`` until interrupted.

    ``announce`` gets the lines to print (the URL first).
    """
    import uvicorn

    from .app import build_app

    app = build_app(kernel.home, kernel, token=bound.token, port=bound.port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    announce(bound.url)
    if bound.token:
        announce(
            f"bound to {bound.address}, not loopback: every request needs this token "
            "(the URL gives it once, or send 'Authorization: Bearer TOKEN')"
        )
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, bound.url), daemon=True).start()
    server.run(sockets=[bound.sock])


def _open_when_started(server: Any, url: str) -> None:
    for _ in range(100):
        if server.started:
            webbrowser.open(url)
            return
        threading.Event().wait(0.05)
