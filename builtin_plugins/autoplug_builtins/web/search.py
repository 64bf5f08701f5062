"""The builtin ``web_search`` backend: a SearXNG instance's JSON API.

``GET {search_url}/search?q=QUERY&format=json`` answers ``{"results": [{"title",
"url", "content", ...}], ...}``; each result becomes ``{title, url, snippet}``.
The instance is the user's own choice (often on localhost), so the address rules
of ``browse_url`` do not apply to it; the timeouts and the byte cap do. Where it
redirects is not the user's choice: a redirect to another origin (scheme, host
and port) is followed here, hop by hop, with every hop's address checked exactly
as ``browse_url`` checks it (``[web] allow_private``).
"""

from __future__ import annotations

import json
from typing import Any

from .addresses import WebError
from .body import ACCEPT_ENCODING, read_capped
from .fetch import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    _open,
    deadline_s,
    new_client,
    overran,
    parse_http_url,
)
from .settings import WebSettings


class NoSearchBackend(WebError):
    """Raised by ``web_search`` when ``[web] search_url`` is not set."""


NO_BACKEND = (
    "web_search has no search backend configured: add "
    '[web] search_url = "http://localhost:8888" to {config} '
    "(the address of a SearXNG instance with the json format enabled in its settings.yml), "
    "or install a plugin that registers its own web_search tool"
)
JSON_DISABLED_HINT = (
    " (SearXNG answers 403 when its settings.yml does not list json under search: formats)"
)


def search_endpoint(search_url: str) -> str:
    """The JSON search endpoint of a SearXNG base URL (a trailing slash is allowed)."""
    return search_url.rstrip("/") + "/search"


def _result(item: Any) -> dict[str, str] | None:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"]:
        return None
    return {
        "title": " ".join(str(item.get("title") or "").split()),
        "url": item["url"],
        "snippet": " ".join(str(item.get("content") or "").split()),
    }


async def searxng_search(
    query: str, max_results: int, settings: WebSettings
) -> list[dict[str, str]]:
    """The first ``max_results`` results for ``query``; raises WebError naming the fault."""
    import asyncio

    if settings.search_url is None:
        raise NoSearchBackend(NO_BACKEND.format(config=settings.config_path))
    endpoint = search_endpoint(settings.search_url)

    try:
        async with asyncio.timeout(deadline_s(settings)):
            body, truncated, status, reason = await _get(endpoint, query, settings)
    except TimeoutError:
        raise overran(f"search backend {endpoint}", settings) from None
    if status != 200:
        hint = JSON_DISABLED_HINT if status == 403 else ""
        raise WebError(f"search backend {endpoint}: HTTP {status} {reason}{hint}")
    if truncated:
        raise WebError(
            f"search backend {endpoint}: the answer is larger than [web] max_bytes "
            f"({settings.max_bytes} bytes)"
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise WebError(
            f"search backend {endpoint}: the answer is not JSON; is it a SearXNG instance "
            "with the json format enabled?"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise WebError(f"search backend {endpoint}: the answer has no 'results' list")
    results = [r for r in map(_result, data["results"]) if r is not None]
    return results[:max_results]


def _origin(url: Any) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


async def _get(endpoint: str, query: str, settings: WebSettings) -> tuple[bytes, bool, int, str]:
    """``(body, truncated, status, reason)`` of the search request, redirects followed.

    The configured origin is trusted; a hop to any other origin goes through
    ``browse_url``'s checked open (its address resolved and checked first).
    """
    import httpx

    params = {"q": query, "format": "json"}
    headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
    # No keep-alive, as in browse_url: a checked hop connects to an address, not a name.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with new_client(settings, headers=headers, limits=limits) as client:
        trusted = _origin(client.build_request("GET", endpoint).url)
        current = client.build_request("GET", endpoint, params=params).url
        where = f"search backend {endpoint}"
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                if _origin(current) == trusted:
                    response = await client.send(client.build_request("GET", current), stream=True)
                else:
                    response = await _open(client, current, settings)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        target = current.join(location.strip())
                        current = parse_http_url(str(target), f"{where} redirected")
                        continue
                    body, truncated = await read_capped(response, settings.max_bytes, where)
                    return body, truncated, response.status_code, response.reason_phrase
                finally:
                    await response.aclose()
        except httpx.TimeoutException:
            raise WebError(f"{where}: no answer within {settings.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise WebError(f"{where}: {type(exc).__name__}: {exc}") from None
    raise WebError(f"{where}: more than {MAX_REDIRECTS} redirects (the last one to {current})")
