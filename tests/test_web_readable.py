"""Reading HTML and other bodies into text (the part of browse_url after the fetch)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- the main text: what a reader reads ----------------------------------------------

ARTICLE = [
    "The bridge reopened on Friday after eighteen months of repairs, two months late.",
    "Engineers replaced every cable, and the deck was resurfaced with a lighter material.",
    "Traffic is limited to thirty kilometres an hour until the final inspection in June.",
]


def paragraphs(tag: str = "p") -> str:
    return "".join(f"<{tag}>{sentence}</{tag}>" for sentence in ARTICLE)


def assert_reads(html: str, absent: list[str]) -> str:
    _, text, _ = read(html)
    for sentence in ARTICLE:
        assert sentence in text
    for chrome in absent:
        assert chrome not in text
    return text


def test_the_first_main_being_an_ad_slot_does_not_hide_the_article_in_the_second():
    html = (
        "<main><div>Advertisement</div><a href='https://ads.example'>Buy the new phone, "
        "now with three cameras and a bigger screen.</a></main>"
        f"<main><h1>Bridge reopens</h1>{paragraphs()}</main>"
    )
    text = assert_reads(html, ["Advertisement", "three cameras"])
    assert text.startswith("# Bridge reopens\n")


def test_a_comment_thread_inside_the_blog_post_s_main_is_left_out():
    comments = "".join(
        f"<li class='comment'><p>Comment {i}: I drove over it this morning, it feels much smoother now, "
        "thanks for the update.</p></li>"
        for i in range(40)
    )
    html = (
        f"<main><article><h1>Bridge</h1>{paragraphs()}</article>"
        f"<div id='comments'><h2>40 comments</h2><ol>{comments}</ol></div></main>"
    )
    assert_reads(html, ["Comment", "40 comments"])


def test_a_docs_page_loses_its_sidebar_and_table_of_contents():
    sidebar = "".join(f"<li><a href='/docs/{i}'>Guide page number {i}</a></li>" for i in range(40))
    html = (
        f"<div class='sidebar'><ul>{sidebar}</ul></div>"
        f"<div class='document'><div class='body'><h1>Bridge API</h1>{paragraphs()}"
        "<pre>bridge.open()</pre></div></div>"
        "<div class='toc'><a href='#a'>On this page</a></div>"
    )
    text = assert_reads(html, ["Guide page number", "On this page"])
    assert "bridge.open()" in text


def test_every_post_of_a_forum_thread_is_read_but_not_the_profiles():
    posts = "".join(
        f"<div class='post'><div class='profile'>Posts: {i * 7} Joined: 2019</div>"
        f"<div class='message'>{sentence}</div></div>"
        for i, sentence in enumerate(ARTICLE)
    )
    assert_reads(
        f"<div id='thread'>{posts}</div><div class='footer'>Forum software 2.0</div>",
        ["Posts:", "Forum software"],
    )


def test_a_page_of_bare_divs_gives_its_text_and_not_its_menu_or_teasers():
    menu = "".join(f"<div class='m'><a href='/{i}'>Menu entry {i}</a></div>" for i in range(12))
    html = (
        f"<div id='left'>{menu}</div><div id='middle'><div class='t'>Bridge news</div>"
        f"{paragraphs('div')}</div>"
        "<div id='right'><div><a href='/x'>Read our annual report, published this week, with all figures.</a></div></div>"
    )
    assert_reads(html, ["Menu entry", "annual report"])


def test_text_split_only_by_line_breaks_is_read():
    html = (
        "<table><tr><td class='nav'><a href='/'>Home</a></td><td>"
        + "<br><br>".join(ARTICLE)
        + "</td></tr></table>"
    )
    assert_reads(html, ["Home"])


def test_hidden_elements_and_consent_banners_are_left_out():
    html = (
        f"<div class='cookie-banner'><p>We use cookies to improve your experience, see our policy.</p></div>"
        f"<article>{paragraphs()}<p style='display: none'>A hidden paragraph that nobody sees on the page.</p>"
        "<p aria-hidden='true'>Screen readers never announce this long hidden sentence.</p></article>"
    )
    assert_reads(html, ["cookies", "hidden paragraph", "Screen readers"])


def test_a_page_where_nothing_reads_as_prose_still_gives_its_text():
    _, text, _ = read("<main class='ad-slot'><p>Short.</p></main>")
    assert text == "Short."


def test_the_headline_outside_the_article_is_put_back_first():
    html = (
        "<title>Bridge reopens after repairs | The Courier</title>"
        f"<div class='headline'>Bridge reopens after repairs</div><div class='story'>{paragraphs()}</div>"
        "<div class='more'><a href='/1'>Other headline one</a><a href='/2'>Other headline two</a></div>"
    )
    text = assert_reads(html, ["Other headline"])
    assert text.splitlines()[0] in (
        "# Bridge reopens after repairs",
        "Bridge reopens after repairs",
    )


SAFE_CLASSES = st.sampled_from(["", "wrap", "col", "box", "inner", "x1", "content", "container"])


@given(
    wrappers=st.lists(
        st.tuples(st.sampled_from(["div", "section", "main", "article"]), SAFE_CLASSES), max_size=4
    ),
    ads_before=st.integers(0, 3),
    ads_after=st.integers(0, 2),
    tag=st.sampled_from(["p", "div"]),
)
@settings(max_examples=60, deadline=None)
def test_the_article_is_never_lost_to_ad_mains_and_wrappers(wrappers, ads_before, ads_after, tag):
    ad = "<main class='ad-slot'><div>Advertisement</div><a href='https://ads.example'>Great offer on shoes today, only online.</a></main>"
    inner = paragraphs(tag)
    for name, cls in wrappers:
        inner = f"<{name} class='{cls}'>{inner}</{name}>"
    html = f"<nav><a href='/'>Home</a></nav>{ad * ads_before}{inner}{ad * ads_after}<footer>Footer text</footer>"
    assert_reads(html, ["Advertisement", "Great offer", "Footer text", "Home"])


@pytest.mark.parametrize(
    "wrapper",
    [
        "<div class='responsive-container'>{}</div>",
        "<article class='post type-post comments-open'>{}</article>",
        "<div class='has-comments layout'>{}</div>",
        "<div class='cookie-free-zone'><h1>Bridge</h1>{}</div>",
    ],
)
def test_a_chrome_word_in_a_wrapper_s_state_or_another_word_does_not_drop_the_article(wrapper):
    # Were the wrapper pruned, the page would fall back to its whole text, sidebar and all.
    sidebar = "<div class='sidebar'><p>Sidebar: our most popular stories this week, picked for you.</p></div>"
    assert_reads("<body>" + wrapper.format(paragraphs()) + sidebar + "</body>", ["Sidebar"])
