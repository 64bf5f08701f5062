"""browse_url through the one door, against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web_server import LOOPBACK, WebServer, bomb, write_web_config

from autoplug import Kernel, ToolResult
from autoplug_builtins.web.browse import clip


@pytest.fixture
def server():
    with WebServer(huge_bytes=3_000_000, slow_s=2.0) as running:
        yield running


def make_kernel(home, **web: Any) -> Kernel:
    """A kernel with only the web plugin, its config allowing loopback unless told otherwise.

    The timeout is generous (a loaded machine must not time a page out); the tests
    of timeouts set their own.
    """
    write_web_config(home, **{"allow_private": LOOPBACK, "timeout_s": 10, **web})
    return Kernel(builtins=["autoplug_web"], home=home)


@pytest.fixture
def kernel(isolated_home):
    # The tool reads the config of AUTOPLUG_HOME, so the kernel uses that same home.
    return make_kernel(isolated_home, max_bytes=100_000)


def browse(kernel: Kernel, url: str, **args: Any) -> ToolResult:
    return asyncio.run(kernel.tools.acall("browse_url", {"url": url, **args}))


# -- HTML -------------------------------------------------------------------


def test_html_page_gives_title_main_text_and_absolute_links(kernel, server):
    result = browse(kernel, server.url("/page.html"))
    assert result.ok, result.error
    page = result.value
    assert page["url"] == page["final_url"] == server.url("/page.html")
    assert page["status"] == 200 and page["content_type"] == "text/html"
    assert page["title"] == "Planets of the Solar System"
    assert page["truncated"] is False
    assert page["text"].splitlines() == [
        "# The largest planet",
        "Jupiter is the largest planet, see Jupiter.",
        "- Mass: 318 Earths",
        "- Moons: 95",
        "Line one",
        "Line two",
        "Sources: Example, mail, js, other, Jupiter again.",
    ]


@pytest.mark.parametrize(
    "hidden",
    [
        "SCRIPT-TEXT",
        "color: red",
        "SITE-HEADER",
        "NAV-TEXT",
        "ASIDE-TEXT",
        "FOOTER-TEXT",
        "HIDDEN-TEXT",
        "NOSCRIPT-TEXT",
        "Planets of the",
    ],
)
def test_html_text_leaves_out_scripts_styles_and_page_chrome(kernel, server, hidden):
    text = browse(kernel, server.url("/page.html")).value["text"]
    assert hidden not in text


def test_html_links_are_absolute_distinct_http_only_and_the_article_s_first(kernel, server):
    links = browse(kernel, server.url("/page.html")).value["links"]
    assert links == [
        {"text": "see Jupiter", "url": server.url("/jupiter.html")},
        {"text": "Example", "url": "https://example.org/planets?x=1"},
        {"text": "other", "url": server.url("/up/other.html")},
        {"text": "Home", "url": server.url("/")},
        {"text": "About us", "url": server.url("/about.html")},
    ]


def test_html_charset_from_the_header_is_honoured(kernel, server):
    page = browse(kernel, server.url("/latin1.html")).value
    assert page["title"] == "Café" and page["text"] == "crème brûlée"


def test_max_chars_cuts_the_text_and_says_so(kernel, server):
    page = browse(kernel, server.url("/page.html"), max_chars=30).value
    assert page["text"] == "# The largest planet\nJupiter i"
    assert page["truncated"] is True


def test_max_chars_below_one_is_invalid_args(kernel, server):
    result = browse(kernel, server.url("/page.html"), max_chars=0)
    assert result.kind == "invalid_args" and "max_chars" in result.error
    assert server.requests == []


def test_the_article_in_a_second_main_is_read_when_the_first_main_is_an_ad_slot(kernel, server):
    page = browse(kernel, server.url("/two-mains.html")).value
    assert page["text"].splitlines() == [
        "# Moon base plans unveiled",
        "The space agency on Monday showed the first detailed plans for a research base near "
        "the lunar south pole, where ice in shadowed craters could supply water and fuel.",
        "Construction would begin in 2032, with the first crew of four staying for a month.",
    ]
    assert page["links"][0] == {"text": "Example News", "url": server.url("/")}


def test_a_long_page_gives_its_article_first_and_says_how_much_was_cut(kernel, server):
    paragraphs = [
        f"<p>Paragraph {i} of the article, long enough to be read as prose.</p>" for i in range(200)
    ]
    comments = "".join(
        f"<li class='comment'><p>Comment {i}: I disagree, and here is why.</p></li>"
        for i in range(50)
    )
    html = (
        "<html><head><title>Long</title></head><body><nav>Home About</nav><article><h1>Long read</h1>"
        + "".join(paragraphs)
        + f"</article><ol class='comment-list'>{comments}</ol></body></html>"
    )
    server.extra_routes["/long.html"] = html.encode()
    page = browse(kernel, server.url("/long.html"), max_chars=2000).value
    text = page["text"]
    assert page["truncated"] is True and len(text) <= 2000
    *kept, note = text.splitlines()
    assert kept[0] == "# Long read"
    # The cut falls between paragraphs, and the note counts what it dropped.
    assert all(
        re.fullmatch(r"Paragraph \d+ of the article, long enough to be read as prose\.", line)
        for line in kept[1:]
    )
    full = browse(kernel, server.url("/long.html"), max_chars=1_000_000).value["text"]
    assert note == (
        f"[{len(full) - len(chr(10).join(kept)):,} more characters not shown: "
        "call again with a larger max_chars to read them]"
    )
    assert "Comment" not in full


# -- each kind of page: the benchmark set (benchmarks/pages) -------------------------

PAGES = Path(__file__).resolve().parent.parent / "benchmarks" / "pages"
PAGE_NAMES = sorted(path.name.removesuffix(".html") for path in PAGES.glob("*.html"))


def _chrome_module():
    spec = importlib.util.spec_from_file_location("bench_pages_chrome", PAGES / "chrome.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def boilerplate() -> list[str]:
    """Sentences of the benchmark pages' chrome: none may reach the text."""
    chrome = _chrome_module()
    return [
        *chrome.COMMENTS,
        *chrome.RELATED,
        "We use cookies and similar technologies",
        "Homeowners are switching to this heat pump",
        "Share this article",
        "Get the morning briefing",
        "All rights reserved",
        "Proudly powered by WordPress",
        "Was this page helpful",
        "Who is online",
        "Hot Network Questions",
        "Suggested Topics",
        "Leave a Reply",
        "Sign up for Field Notes",
        "Careers at Northline",
        "This does not work on Python 3.8",
        "Posts: ",
        "Opening hours",
        "Quick search",
    ]


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pages_server():
    with WebServer() as running:
        for name in PAGE_NAMES:
            running.extra_routes[f"/pages/{name}.html"] = (PAGES / f"{name}.html").read_bytes()
        yield running


def test_the_benchmark_set_covers_every_kind_of_page():
    kinds = {name.split("-")[0] for name in PAGE_NAMES}
    assert kinds == {"news", "blog", "docs", "forum", "divs"} and len(PAGE_NAMES) >= 30
    assert any(name.startswith("news-two-mains") for name in PAGE_NAMES)


# The held-out templates (benchmarks/pages/heldout.py) measure the extractor on markup
# it was not written against: their article must be read whole, while their
# boilerplate figures are the benchmark's to report, not the tests' to pin.
HELD_OUT = (
    "news-dataattrs",
    "blog-responses",
    "docs-rtd",
    "docs-apitable",
    "forum-vbulletin",
    "divs-yui",
)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_each_kind_of_page_gives_its_article_and_none_of_its_boilerplate(
    kernel, pages_server, name
):
    page = browse(kernel, pages_server.url(f"/pages/{name}.html"), max_chars=100_000).value
    text = one_line(page["text"])
    gold = (PAGES / f"{name}.gold.txt").read_text(encoding="utf-8").splitlines()
    missing = [line for line in gold if one_line(line) not in text]
    assert not missing, f"article lines missing from {name}: {missing[:3]}"
    assert page["title"] and page["links"]
    if name.split("--")[0] in HELD_OUT:
        return
    leaked = [phrase for phrase in boilerplate() if phrase in text]
    assert not leaked, f"boilerplate in the text of {name}: {leaked[:3]}"


def test_the_held_out_templates_are_the_benchmark_s():
    source = (PAGES / "heldout.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in HELD_OUT)


# -- other content types -------------------------------------------------------


def test_plain_text_is_returned_as_text(kernel, server):
    page = browse(kernel, server.url("/notes.txt")).value
    assert page["text"] == "Jupiter: 95 moons \u2014 largest.\n"
    assert page["content_type"] == "text/plain"
    assert page["title"] is None and page["links"] == []


def test_json_is_returned_as_text(kernel, server):
    page = browse(kernel, server.url("/data.json")).value
    assert page["text"] == '{"planet": "Jupiter", "moons": 95}'
    assert page["content_type"] == "application/json"


def test_binary_content_type_is_refused_naming_it(kernel, server):
    result = browse(kernel, server.url("/image.png"))
    assert result.kind == "tool_error"
    assert "'image/png'" in result.error and "/image.png" in result.error
    assert "binary" in result.error


def test_body_without_content_type_is_sniffed(kernel, server):
    assert browse(kernel, server.url("/untyped.txt")).value["text"] == "plain words, no type"
    refused = browse(kernel, server.url("/untyped.bin"))
    assert not refused.ok and "no content type" in refused.error and "binary" in refused.error


def test_http_404_is_a_tool_error_naming_status_and_url(kernel, server):
    result = browse(kernel, server.url("/missing"))
    assert result.kind == "tool_error"
    assert "HTTP 404 Not Found" in result.error and server.url("/missing") in result.error


# -- size and time limits --------------------------------------------------------


def test_huge_body_is_cut_at_max_bytes(kernel, server):
    page = browse(kernel, server.url("/huge"), max_chars=1_000_000).value
    assert page["text"] == "x" * 100_000
    assert page["truncated"] is True


def test_gzip_body_is_decoded(kernel, server):
    page = browse(kernel, server.url("/gzip.html")).value
    assert page["title"] == "Planets of the Solar System" and page["truncated"] is False


def test_gzip_bomb_is_cut_at_max_bytes_of_decoded_text(kernel, server):
    # 50 MB of text sent as about 50 kB of gzip: only max_bytes of it are ever decoded,
    # so memory stays far below what decoding whole network chunks would take.
    bomb()  # the server compresses it once, outside the measurement
    tracemalloc.start()
    try:
        page = browse(kernel, server.url("/gzip-bomb"), max_chars=1_000_000).value
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert page["text"] == "a" * 100_000 and page["truncated"] is True
    assert peak < 10_000_000


def test_unsupported_content_encoding_is_named(kernel, server):
    result = browse(kernel, server.url("/brotli"))
    assert result.kind == "tool_error" and "content encoding 'br'" in result.error


def test_body_at_exactly_max_bytes_is_not_truncated(isolated_home, server):
    kernel = make_kernel(isolated_home, max_bytes=len(b'{"planet": "Jupiter", "moons": 95}'))
    page = browse(kernel, server.url("/data.json")).value
    assert page["truncated"] is False and page["text"].endswith("95}")


def test_slow_response_times_out_with_the_configured_timeout(isolated_home, server):
    kernel = make_kernel(isolated_home, timeout_s=0.5)
    result = browse(kernel, server.url("/slow"))
    assert result.kind == "tool_error"
    assert "read timeout" in result.error and "0.5 s" in result.error
    assert server.url("/slow") in result.error


def test_body_that_stalls_times_out(isolated_home, server):
    kernel = make_kernel(isolated_home, timeout_s=0.5)
    result = browse(kernel, server.url("/slow-body"))
    assert result.kind == "tool_error" and "stalled for 0.5 s" in result.error


def test_a_dripping_body_is_stopped_by_the_whole_call_deadline(isolated_home, server):
    # Every read is well inside timeout_s; the whole call is bounded by 4 x timeout_s.
    kernel = make_kernel(isolated_home, timeout_s=0.5)
    result = browse(kernel, server.url("/drip"))
    assert result.kind == "tool_error"
    assert "not finished within 2 s (4 x [web] timeout_s)" in result.error


# -- redirects ------------------------------------------------------------------


def test_redirect_chain_is_followed_to_the_final_url(kernel, server):
    page = browse(kernel, server.url("/chain/3")).value
    assert page["url"] == server.url("/chain/3")
    assert page["final_url"] == server.url("/page.html")
    assert page["title"] == "Planets of the Solar System"
    assert server.paths() == ["/chain/3", "/chain/2", "/chain/1", "/page.html"]


def test_redirect_loop_stops_at_the_limit(kernel, server):
    result = browse(kernel, server.url("/loop"))
    assert result.kind == "tool_error" and "more than 5 redirects" in result.error
    assert server.paths() == ["/loop"] * 6


def test_redirect_to_cloud_metadata_is_refused_even_with_private_allowed(isolated_home, server):
    kernel = make_kernel(isolated_home, allow_private=True)
    result = browse(kernel, server.url("/to-metadata"))
    assert result.kind == "tool_error"
    assert "169.254.169.254" in result.error and "cloud metadata" in result.error


def test_redirect_to_a_private_address_is_refused_on_that_hop(kernel, server):
    # Only loopback is allowed here, so the hop to 10.0.0.1 must be refused before connecting.
    result = browse(kernel, server.url("/to-private"))
    assert result.kind == "tool_error"
    assert "refused http://10.0.0.1/admin" in result.error and "a private address" in result.error


def test_redirect_to_a_file_url_is_refused(kernel, server):
    result = browse(kernel, server.url("/to-file"))
    assert result.kind == "tool_error"
    assert "'file'" in result.error and "only http:// and https://" in result.error


# -- address safety ---------------------------------------------------------------


def test_loopback_is_refused_without_the_config_and_nothing_connects(isolated_home, server):
    kernel = Kernel(builtins=["autoplug_web"], home=isolated_home)  # no [web] table at all
    result = browse(kernel, server.url("/page.html"))
    assert result.kind == "tool_error"
    assert "127.0.0.1" in result.error and "a loopback address" in result.error
    assert "allow_private" in result.error
    assert server.requests == []


def test_localhost_by_name_is_checked_and_keeps_its_host_header(kernel, server):
    page = browse(kernel, server.url("/page.html", host="localhost")).value
    assert page["final_url"] == server.url("/page.html", host="localhost")
    assert server.requests[-1]["host"] == f"localhost:{server.port}"


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("ftp://example.org/file", "scheme 'ftp'"),
        ("example.org/page", "no scheme"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("http://", "no host"),
    ],
)
def test_urls_that_are_not_http_are_refused(kernel, url, fault):
    result = browse(kernel, url)
    assert result.kind == "tool_error" and fault in result.error


def test_invalid_web_config_is_a_tool_error_naming_file_and_key(isolated_home, server):
    kernel = make_kernel(isolated_home)
    # The file is read at call time: an edit after the kernel started fails the call.
    write_web_config(isolated_home, allow_private=LOOPBACK, timeout_s="soon")
    result = browse(kernel, server.url("/page.html"))
    assert result.kind == "tool_error"
    assert str(isolated_home / "config.toml") in result.error and "timeout_s" in result.error


@given(
    text=st.text(alphabet=st.sampled_from("ab .\n"), max_size=3000),
    max_chars=st.integers(1, 3000),
)
@settings(max_examples=200, deadline=None)
def test_a_cut_text_fits_max_chars_keeps_a_prefix_and_counts_what_it_dropped(text, max_chars):
    clipped = clip(text, max_chars)
    assert len(clipped) <= max_chars
    if len(text) <= max_chars:
        assert clipped == text
        return
    note = re.search(r"\n\[([\d,]+) more characters not shown: [^\n]*\]$", clipped)
    if note is None:
        assert clipped == text[:max_chars]
    else:
        kept = clipped[: note.start()]
        assert text.startswith(kept)
        assert int(note.group(1).replace(",", "")) == len(text) - len(kept)
