"""Builtin plugin ``autoplug_web``: the tools ``browse_url`` and ``web_search``.

``browse_url`` fetches one page over http(s) and returns its readable text,
title and links, refusing private and metadata addresses (see ``addresses``),
binary content and oversized bodies. ``web_search`` asks a SearXNG instance
(``[web] search_url``); a plugin replaces it by registering its own
``web_search`` tool, which wins over this builtin one.

Both read the ``[web]`` table of ``$AUTOPLUG_HOME/config.toml`` at call time
(``settings``). Everything but the tool declarations, httpx and BeautifulSoup
included, is imported only when a tool runs, so loading this plugin costs
nearly nothing at start-up.
"""

from __future__ import annotations

from typing import Any

from autoplug import Tool, hookimpl, tool

DEFAULT_MAX_CHARS = 20_000
DEFAULT_MAX_RESULTS = 5
MAX_RESULTS_LIMIT = 50


def _constrain(made: Tool, **properties: dict[str, Any]) -> Tool:
    """Add JSON Schema keywords (ranges, lengths) that type hints cannot express."""
    for name, keywords in properties.items():
        made.parameters["properties"][name].update(keywords)
    return made


@tool
async def browse_url(url: str, max_chars: int = DEFAULT_MAX_CHARS) -> dict:
    """Fetch a web page (http or https) and return its title, readable text and links.

    HTML is reduced to its main text (no scripts, styles or navigation) and its
    links as absolute URLs; plain text, JSON and XML come back as text; binary
    files are refused. Result: {url, final_url, status, content_type, title, text,
    links: [{text, url}], truncated}.

    url: the http:// or https:// address of the page
    max_chars: return at most this many characters of text
    """
    from .browse import browse
    from .settings import load_settings

    return await browse(url, max_chars, load_settings())


@tool
async def web_search(query: str, max_results: int = DEFAULT_MAX_RESULTS) -> list:
    """Search the web; returns [{title, url, snippet}], best first.

    The builtin backend is the SearXNG instance at [web] search_url in the
    config file; a plugin may replace this tool with another backend.

    query: what to search for
    max_results: return at most this many results
    """
    from .search import searxng_search
    from .settings import load_settings

    return await searxng_search(query, max_results, load_settings())


_constrain(browse_url, url={"minLength": 1}, max_chars={"minimum": 1})
_constrain(
    web_search,
    query={"minLength": 1},
    max_results={"minimum": 1, "maximum": MAX_RESULTS_LIMIT},
)


@hookimpl
def register_tools(register: Any) -> None:
    """Register browse_url and web_search."""
    register(browse_url)
    register(web_search)


__all__ = ["browse_url", "register_tools", "web_search"]
