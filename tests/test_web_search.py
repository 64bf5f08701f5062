"""web_search through the one door: the SearXNG backend, its errors, and replacing it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from web_server import WebServer, write_web_config

from autoplug import Kernel, ToolResult, hookimpl, tool


@pytest.fixture
def server():
    with WebServer() as running:
        yield running


def make_kernel(home, plugins: list[Any] | None = None, **web: Any) -> Kernel:
    write_web_config(home, **{"timeout_s": 2, **web})
    return Kernel(plugins=plugins, builtins=["autoplug_web"], home=home)


def search(kernel: Kernel, query: str, name: str = "web_search", **args: Any) -> ToolResult:
    return asyncio.run(kernel.tools.acall(name, {"query": query, **args}))


def test_searxng_results_become_title_url_snippet(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url(""))
    result = search(kernel, "largest planet")
    assert result.ok, result.error
    assert result.value == [
        {
            "title": "Jupiter - Wikipedia",
            "url": "https://en.wikipedia.org/wiki/Jupiter",
            "snippet": "Jupiter is the fifth planet from the Sun.",
        },
        {
            "title": "Jupiter facts",
            "url": "https://science.example/jupiter",
            "snippet": "Largest planet.",
        },
        {"title": "Planets", "url": "https://planets.example/", "snippet": ""},
    ]


def test_the_query_string_is_q_and_format_json(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/"))  # a trailing slash is fine
    search(kernel, "jupiter & moons?")
    assert server.requests == [
        {
            "path": "/search",
            "query": {"q": ["jupiter & moons?"], "format": ["json"]},
            "host": f"127.0.0.1:{server.port}",
        }
    ]


def test_max_results_bounds_the_list(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url(""))
    result = search(kernel, "jupiter", max_results=1)
    assert [r["title"] for r in result.value] == ["Jupiter - Wikipedia"]


@pytest.mark.parametrize("args", [{"max_results": 0}, {"max_results": 51}, {"query": ""}])
def test_out_of_range_arguments_are_invalid_args(isolated_home, server, args):
    kernel = make_kernel(isolated_home, search_url=server.url(""))
    result = asyncio.run(kernel.tools.acall("web_search", {"query": "x", **args}))
    assert result.kind == "invalid_args" and next(iter(args)) in result.error
    assert server.requests == []


def test_without_search_url_the_error_says_how_to_configure_one(isolated_home):
    kernel = Kernel(builtins=["autoplug_web"], home=isolated_home)
    result = search(kernel, "jupiter")
    assert result.kind == "tool_error"
    assert '[web] search_url = "http://localhost:8888"' in result.error
    assert str(isolated_home / "config.toml") in result.error
    assert "SearXNG" in result.error and "plugin" in result.error


def test_a_403_answer_hints_at_the_json_format_setting(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/forbidden"))
    result = search(kernel, "jupiter")
    assert result.kind == "tool_error"
    assert "HTTP 403" in result.error and "settings.yml" in result.error
    assert server.url("/forbidden/search") in result.error


def test_an_answer_that_is_not_json_is_a_clear_error(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/html"))
    result = search(kernel, "jupiter")
    assert result.kind == "tool_error" and "not JSON" in result.error


def test_a_dripping_backend_is_stopped_by_the_deadline(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/drip"), timeout_s=0.5)
    result = search(kernel, "jupiter")
    assert result.kind == "tool_error"
    assert "search backend" in result.error and "not finished within 2 s" in result.error


def test_an_unreachable_backend_names_its_endpoint(isolated_home, server):
    port = server.port
    server.__exit__()  # nothing listens there any more
    kernel = make_kernel(isolated_home, search_url=f"http://127.0.0.1:{port}")
    result = search(kernel, "jupiter")
    assert result.kind == "tool_error"
    assert f"search backend http://127.0.0.1:{port}/search" in result.error


# -- replacing the backend ------------------------------------------------------------


@tool(name="web_search")
def canned_search(query: str, max_results: int = 5) -> list:
    """A search backend of another plugin.

    query: what to search for
    max_results: at most this many results
    """
    return [{"title": f"canned: {query}", "url": "https://canned.example/", "snippet": ""}]


class CannedSearchPlugin:
    """A third-party plugin that brings its own web_search."""

    @hookimpl
    def register_tools(self, register):
        register(canned_search)


def test_hook_register_tools_a_plugin_web_search_replaces_the_builtin(isolated_home, server):
    kernel = make_kernel(isolated_home, plugins=[CannedSearchPlugin()], search_url=server.url(""))
    replaced = search(kernel, "jupiter")
    assert replaced.value == [
        {"title": "canned: jupiter", "url": "https://canned.example/", "snippet": ""}
    ]
    assert kernel.tools.get("web_search").plugin != "autoplug_web"
    assert server.requests == []
    # The builtin stays reachable by its qualified name.
    builtin = search(kernel, "jupiter", name="autoplug_web.web_search")
    assert builtin.ok and builtin.value[0]["title"] == "Jupiter - Wikipedia"


def test_web_tools_read_the_kernels_home_not_autoplug_home(isolated_home, server, tmp_path):
    """Kernel(home=...) is the config the tools read, whatever AUTOPLUG_HOME says."""
    write_web_config(isolated_home, search_url="http://127.0.0.1:9")  # the environment's home
    kernel = make_kernel(tmp_path / "mine", search_url=server.url(""))
    result = search(kernel, "largest planet")
    assert result.ok, result.error
    assert result.value[0]["title"] == "Jupiter - Wikipedia"
    other = Kernel(builtins=["autoplug_web"], home=isolated_home)
    failed = search(other, "largest planet")
    assert not failed.ok and "127.0.0.1:9" in failed.error


@pytest.mark.parametrize(
    ("route", "refused"),
    [
        ("/to-metadata", "169.254.169.254"),
        ("/to-private", "refused http://10.0.0.1/search?q=x"),
    ],
)
def test_a_backend_redirect_to_a_private_address_is_refused(isolated_home, server, route, refused):
    # The backend itself is on loopback (configured, so trusted); where it redirects is not.
    kernel = make_kernel(isolated_home, search_url=server.url(route))
    result = search(kernel, "x")
    assert result.kind == "tool_error"
    assert refused in result.error
    assert [r["path"] for r in server.requests] == [f"{route}/search"]


def test_a_backend_redirect_to_another_origin_is_checked_even_on_loopback(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/to-alias"))
    result = search(kernel, "x")
    assert result.kind == "tool_error" and "refused http://localhost:" in result.error
    allowed = make_kernel(
        isolated_home, search_url=server.url("/to-alias"), allow_private=["127.0.0.0/8", "::1/128"]
    )
    assert search(allowed, "x").ok


def test_a_backend_redirect_within_its_own_origin_is_followed(isolated_home, server):
    kernel = make_kernel(isolated_home, search_url=server.url("/moved"))
    result = search(kernel, "largest planet")
    assert result.ok, result.error
    assert [r["path"] for r in server.requests] == ["/moved/search", "/search"]
    assert server.requests[1]["query"] == {"q": ["largest planet"], "format": ["json"]}
