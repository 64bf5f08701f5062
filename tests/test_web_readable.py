"""Reading HTML and other bodies into text (the part of browse_url after the fetch)."""

from __future__ import annotations

import pytest

from autoplug_builtins.web.readable import content_kind, decode_text, read_html, sniff_kind


def read(html: str, base: str = "http://site.example/dir/page.html", max_links: int = 100):
    return read_html(html.encode(), "utf-8", base, max_links)


def test_comments_and_doctype_are_not_text():
    title, text, _ = read("<!DOCTYPE html><p>kept<!-- COMMENT --> words</p>")
    assert title is None and text == "kept words"


def test_pre_keeps_its_lines():
    _, text, _ = read("<p>code:</p><pre>line 1\nline 2</pre>")
    assert text == "code:\nline 1\nline 2"


def test_table_cells_stay_on_their_row():
    _, text, _ = read(
        "<table><tr><th>planet</th><th>moons</th></tr><tr><td>Mars</td><td>2</td></tr></table>"
    )
    assert text == "planet moons\nMars 2"


def test_without_main_the_body_is_read():
    _, text, _ = read("<body><h2>Moons</h2><div>Io <em>and</em> Europa</div></body>")
    assert text == "## Moons\nIo and Europa"


def test_base_href_sets_where_relative_links_point():
    _, _, links = read('<base href="https://cdn.example/docs/"><a href="a.html">A</a>')
    assert links == [{"text": "A", "url": "https://cdn.example/docs/a.html"}]


def test_links_are_bounded_and_an_empty_text_falls_back_to_the_title():
    html = "".join(f'<a href="/p{i}">{i}</a>' for i in range(10)) + '<a href="/t" title="T"></a>'
    _, _, links = read(html, max_links=3)
    assert [link["url"] for link in links] == [f"http://site.example/p{i}" for i in range(3)]
    _, _, titled = read('<a href="/t" title="The title"><img src="x.png"></a>')
    assert titled == [{"text": "The title", "url": "http://site.example/t"}]


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        ("text/html", "html"),
        ("application/xhtml+xml", "html"),
        ("text/markdown", "text"),
        ("application/json", "text"),
        ("application/ld+json", "text"),
        ("application/atom+xml", "text"),
        ("image/png", "binary"),
        ("application/pdf", "binary"),
        ("application/octet-stream", "binary"),
        ("", "unknown"),
    ],
)
def test_content_kinds(media, kind):
    assert content_kind(media) == kind


def test_sniffing_a_body_without_content_type():
    assert sniff_kind(b"  <!DOCTYPE html><title>x</title>") == "html"
    assert sniff_kind(b"just words") == "text"
    assert sniff_kind("caf\u00e9".encode()[:-1]) == "text"  # cut inside a character by the cap
    assert sniff_kind(b"\x89PNG\r\n\x1a\n\x00\x00") == "binary"
    assert sniff_kind(b"\xff\xfe\xfd" * 20) == "binary"


def test_decoding_with_an_unknown_charset_falls_back_to_utf8():
    assert decode_text("h\u00e9".encode(), "no-such-charset") == "h\u00e9"
    assert decode_text("h\u00e9".encode("latin-1"), "latin-1") == "h\u00e9"
