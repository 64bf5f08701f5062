"""Fetching one URL safely: checked addresses on every hop, timeouts, a byte cap.

Redirects are followed here, not by httpx, so that each hop's host is resolved
and checked like the first. The request goes to one of the checked addresses
(the URL's host replaced by it, the ``Host`` header and TLS server name kept),
so the address that was checked is the address connected to. Proxy variables
are ignored for the same reason; ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are
honoured so that a private certificate authority still works.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoplug import __version__

from .addresses import WebError, resolve_checked
from .body import ACCEPT_ENCODING, read_capped
from .readable import content_kind
from .settings import WebSettings

if TYPE_CHECKING:
    import ssl

    import httpx

MAX_REDIRECTS = 5
# httpx's timeouts bound each connect and each read; a server that drips one byte
# just inside the read timeout would still hold a call for hours. This bounds the
# whole call (every hop, every byte) even where no caller enforces a timeout.
DEADLINE_FACTOR = 4
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"autoplug/{__version__} (browse_url)"
ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class Fetched:
    """A response that passed every check, with its body read up to the byte cap."""

    url: str
    final_url: str
    status: int
    media_type: str
    charset: str | None
    body: bytes
    truncated: bool


def ssl_context() -> ssl.SSLContext:
    """A verifying TLS context: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi."""
    return _ssl_context(
        os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None
    )


@functools.lru_cache(maxsize=4)
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # Loading the CA bundle takes 20-70 ms; a context is safe to share, so it is
    # built once per CA setting instead of on every call.
    import ssl

    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def new_client(
    settings: WebSettings, headers: dict[str, str] | None = None, **options: Any
) -> httpx.AsyncClient:
    """An httpx client with the configured timeouts, no proxies and no environment trust."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout_s),
        trust_env=False,
        verify=ssl_context(),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        **options,
    )


def parse_http_url(url: str, where: str) -> httpx.URL:
    """``url`` as an ``httpx.URL``; WebError unless it is an absolute http(s) URL with a host."""
    import httpx

    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise WebError(f"{where}: {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        shown = f"scheme {parsed.scheme!r}" if parsed.scheme else "no scheme"
        raise WebError(
            f"{where}: {url!r} has {shown}; only http:// and https:// URLs can be fetched"
        )
    if not parsed.host:
        raise WebError(f"{where}: {url!r} has no host")
    return parsed


def media_type_of(response: httpx.Response) -> tuple[str, str | None]:
    """The response's media type (lower case, no parameters) and its charset, if any."""
    header = response.headers.get("content-type", "")
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media.strip().lower(), charset


async def _open(client: httpx.AsyncClient, url: httpx.URL, settings: WebSettings) -> httpx.Response:
    """Send GET ``url`` to one of its host's checked addresses; the response is streaming."""
    import httpx

    shown = str(url)
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    endpoints = await resolve_checked(
        shown, host, port, allow_private=settings.allow_private, timeout_s=settings.timeout_s
    )
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    failures: list[str] = []
    for endpoint in endpoints:
        request = client.build_request(
            "GET",
            url.copy_with(host=endpoint.address),
            headers={"Host": url.netloc.decode("ascii")},
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Try the host's next address, as a browser would.
            failures.append(f"{endpoint.address}: {exc or type(exc).__name__}")
        except httpx.TimeoutException:
            raise WebError(
                f"{shown}: no response within {settings.timeout_s:g} s (read timeout)"
            ) from None
        except httpx.HTTPError as exc:
            raise WebError(f"{shown}: {type(exc).__name__}: {exc}") from None
    raise WebError(f"{shown}: cannot connect ({'; '.join(failures)})")


def deadline_s(settings: WebSettings) -> float:
    """The bound on one whole call: ``DEADLINE_FACTOR`` times ``[web] timeout_s``."""
    return DEADLINE_FACTOR * settings.timeout_s


def overran(where: str, settings: WebSettings) -> WebError:
    """The error for a call that passed its deadline."""
    return WebError(
        f"{where}: not finished within {deadline_s(settings):g} s "
        f"({DEADLINE_FACTOR} x [web] timeout_s)"
    )


async def fetch(url: str, settings: WebSettings) -> Fetched:
    """GET ``url`` following up to MAX_REDIRECTS redirects, each hop checked.

    Raises WebError (or AddressRefused) naming the URL and the fault: a bad URL,
    a refused address, too many redirects, a non-2xx status, a binary content
    type, a timeout (per read, or the whole call's deadline) or a connection failure.
    """
    import asyncio

    try:
        async with asyncio.timeout(deadline_s(settings)):
            return await _fetch(url, settings)
    except TimeoutError:
        raise overran(url, settings) from None


async def _fetch(url: str, settings: WebSettings) -> Fetched:
    import httpx

    current = parse_http_url(url, "browse_url")
    headers = {"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    # No keep-alive: a pooled connection is keyed by address, and two hosts on one
    # address must not share a TLS session made for the other's name.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with new_client(settings, headers=headers, limits=limits) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            response = await _open(client, current, settings)
            try:
                status = response.status_code
                location = response.headers.get("location")
                if status in REDIRECT_STATUSES and location:
                    target = current.join(location.strip())
                    current = parse_http_url(str(target), f"{current} redirected")
                    continue
                if not 200 <= status < 300:
                    raise WebError(f"{current}: HTTP {status} {response.reason_phrase}".rstrip())
                media, charset = media_type_of(response)
                if content_kind(media) == "binary":
                    raise WebError(
                        f"{current}: refused content type {media!r}: "
                        "browse_url reads HTML and text, not binary files"
                    )
                try:
                    body, truncated = await read_capped(response, settings.max_bytes, str(current))
                except httpx.TimeoutException:
                    raise WebError(
                        f"{current}: the body stalled for {settings.timeout_s:g} s (read timeout)"
                    ) from None
                except httpx.HTTPError as exc:
                    raise WebError(f"{current}: reading the body failed: {exc}") from None
                return Fetched(
                    url=url,
                    final_url=str(current),
                    status=status,
                    media_type=media,
                    charset=charset,
                    body=body,
                    truncated=truncated,
                )
            finally:
                await response.aclose()
    raise WebError(f"{url}: more than {MAX_REDIRECTS} redirects (the last one to {current})")
