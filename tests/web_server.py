"""A real HTTP server on 127.0.0.1 for the web-tool tests (and the web benchmark).

``WebServer`` runs a threaded ``http.server`` on port 0 and serves a fixed set
of pages: HTML with chrome and relative links, a page
whose first ``<main>`` is an ad slot, redirect chains, redirects to
forbidden addresses and schemes, a huge body, slow and dripping responses, a binary file,
text types, a 404, and a fake SearXNG JSON endpoint. Every request is recorded
(path, query and Host header) so tests can tell what reached the server.
"""

from __future__ import annotations

import functools
import gzip
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>  Planets of the
     Solar System </title>
  <style>body { color: red; }</style>
  <script>var secret = "SCRIPT-TEXT";</script>
</head>
<body>
  <header class="site">SITE-HEADER <a href="/">Home</a></header>
  <nav><a href="/about.html">About us</a> <a href="#top">Top</a> NAV-TEXT</nav>
  <main>
    <article>
      <header><h1>The largest planet</h1></header>
      <p>Jupiter is the <b>largest</b> planet, <a href="jupiter.html#moons">see Jupiter</a>.</p>
      <ul><li>Mass: 318 Earths</li><li><p>Moons: 95</p></li></ul>
      <p>Line one<br>Line two</p>
      <div hidden>HIDDEN-TEXT</div>
      <noscript>NOSCRIPT-TEXT</noscript>
      <p>Sources: <a href="https://example.org/planets?x=1">Example</a>,
         <a href="mailto:someone@example.org">mail</a>,
         <a href="javascript:void(0)">js</a>,
         <a href="../up/other.html">other</a>,
         <a href="jupiter.html">Jupiter again</a>.</p>
    </article>
  </main>
  <aside>ASIDE-TEXT</aside>
  <footer>FOOTER-TEXT</footer>
</body>
</html>
"""

# A news page whose first <main> is an ad slot and whose article is in the second.
TWO_MAINS_HTML = """<!DOCTYPE html>
<html><head><title>Moon base plans unveiled | Example News</title></head>
<body>
  <header><a href="/">Example News</a> <a href="/world">World</a></header>
  <main class="ad-slot"><div class="ad-label">Advertisement</div>
    <a href="https://ads.example/c">Save 40% on premium telescopes this week only, free delivery.</a>
  </main>
  <main><div id="story">
    <h1>Moon base plans unveiled</h1>
    <p>The space agency on Monday showed the first detailed plans for a research base near the
       lunar south pole, where ice in shadowed craters could supply water and fuel.</p>
    <p>Construction would begin in 2032, with the first crew of four staying for a month.</p>
  </div></main>
  <main><div>Sponsored</div></main>
</body></html>
"""

BOMB_BYTES = 50_000_000


@functools.cache
def bomb() -> bytes:
    """50 MB of one letter, gzip-compressed to about 50 kB."""
    return gzip.compress(b"a" * BOMB_BYTES, compresslevel=9)


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class WebServer:
    """A loopback HTTP(S) server with the test routes; use as a context manager.

    ``huge_bytes`` is the size of ``/huge``; ``slow_s`` is how long ``/slow``
    and ``/slow-body`` wait. ``search_results`` is what ``/search`` returns.
    """

    def __init__(
        self,
        huge_bytes: int = 5_000_000,
        slow_s: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.huge_bytes = huge_bytes
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        # More HTML pages by path, for the benchmark.
        self.extra_routes: dict[str, bytes] = {}
        self.search_results: list[dict[str, Any]] = [
            {
                "title": "Jupiter - Wikipedia",
                "url": "https://en.wikipedia.org/wiki/Jupiter",
                "content": "Jupiter is the fifth planet   from the Sun.",
                "engine": "wikipedia",
            },
            {
                "title": "Jupiter facts",
                "url": "https://science.example/jupiter",
                "content": "Largest planet.",
                "engine": "duckduckgo",
            },
            {"title": "no url here", "content": "dropped"},
            {"title": "Planets", "url": "https://planets.example/", "content": None},
        ]
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        # A short poll interval makes shutdown() quick: tests start one server each.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path`` on this server."""
        return f"{self.scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [r["path"] for r in self.requests]

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print the clients' expected hang-ups and TLS failures."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _handler_for(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def send(self, status: int, body: bytes, ctype: str | None, **headers: str) -> None:
            self.send_response(status)
            if ctype is not None:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def redirect(self, location: str, status: int = 302) -> None:
            self.send(status, b"", "text/plain", Location=location)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            server.requests.append(
                {"path": path, "query": parse_qs(parts.query), "host": self.headers.get("Host")}
            )
            try:
                self.route(path)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (the byte cap): expected

        def route(self, path: str) -> None:
            if path in server.extra_routes:
                self.send(200, server.extra_routes[path], "text/html; charset=utf-8")
            elif path == "/page.html":
                self.send(200, ARTICLE_HTML.encode(), "text/html; charset=utf-8")
            elif path == "/two-mains.html":
                self.send(200, TWO_MAINS_HTML.encode(), "text/html; charset=utf-8")
            elif path == "/latin1.html":
                body = "<title>Caf\xe9</title><p>cr\xe8me br\xfbl\xe9e</p>".encode("latin-1")
                self.send(200, body, "text/html; charset=ISO-8859-1")
            elif path.startswith("/chain/"):
                left = int(path.rsplit("/", 1)[1])
                self.redirect(f"/chain/{left - 1}" if left > 1 else "/page.html", 301)
            elif path == "/loop":
                self.redirect("/loop")
            elif path == "/to-metadata":
                self.redirect("http://169.254.169.254/latest/meta-data/")
            elif path == "/to-private":
                self.redirect("http://10.0.0.1/admin")
            elif path == "/to-metadata/search":
                self.redirect("http://169.254.169.254/latest/meta-data/")
            elif path == "/to-private/search":
                self.redirect("http://10.0.0.1/search?q=x")
            elif path == "/moved/search":  # the same origin: still the configured backend
                self.redirect(f"/search?{urlsplit(self.path).query}", 301)
            elif path == "/to-alias/search":  # another origin that is also loopback
                self.redirect(f"http://localhost:{server.port}/search?q=x&format=json")
            elif path == "/to-file":
                self.redirect("file:///etc/passwd")
            elif path == "/huge":
                self.send_huge()
            elif path == "/slow":
                time.sleep(server.slow_s)
                self.send(200, b"late", "text/plain")
            elif path == "/slow-body":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "20")
                self.end_headers()
                self.wfile.write(b"first half")
                self.wfile.flush()
                time.sleep(server.slow_s)
                self.wfile.write(b"other half")
            elif path in ("/drip", "/drip/search"):
                self.send_drip()
            elif path == "/gzip.html":
                body = gzip.compress(ARTICLE_HTML.encode())
                self.send(200, body, "text/html", Content_Encoding="gzip")
            elif path == "/gzip-bomb":
                self.send(200, bomb(), "text/plain", Content_Encoding="gzip")
            elif path == "/brotli":
                self.send(200, b"\x1b\x03\x00", "text/plain", Content_Encoding="br")
            elif path == "/image.png":
                self.send(200, PNG_BYTES, "image/png")
            elif path == "/untyped.bin":
                self.send(200, PNG_BYTES, None)
            elif path == "/untyped.txt":
                self.send(200, b"plain words, no type", None)
            elif path == "/notes.txt":
                self.send(200, "Jupiter: 95 moons \u2014 largest.\n".encode(), "text/plain")
            elif path == "/data.json":
                self.send(200, b'{"planet": "Jupiter", "moons": 95}', "application/json")
            elif path == "/search":
                self.send(
                    200,
                    json.dumps({"query": "x", "results": server.search_results}).encode(),
                    "application/json",
                )
            elif path == "/forbidden/search":
                self.send(403, b"Forbidden", "text/plain")
            elif path == "/html/search":
                self.send(200, b"<html><body>results</body></html>", "text/html")
            else:
                self.send(404, b"<h1>Not Found</h1>", "text/html")

        def send_drip(self) -> None:
            # One byte every 0.1 s: each read is quick, the whole body takes long.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "50")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.1)

        def send_huge(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(server.huge_bytes))
            self.end_headers()
            chunk = b"x" * 65536
            sent = 0
            while sent < server.huge_bytes:
                piece = chunk[: server.huge_bytes - sent]
                self.wfile.write(piece)
                sent += len(piece)

    return Handler


def write_web_config(home: Path, **values: Any) -> Path:
    """Write ``home/config.toml`` with a ``[web]`` table of ``values``; returns its path."""
    lines = ["[web]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


LOOPBACK = ["127.0.0.0/8", "::1/128"]
