"""Held-out benchmark templates, written after the extractor was frozen (see build.py).

Their markup leans on what the first templates did not: data attributes
instead of classes (a BBC-like news page), a Medium-like "responses" thread
with no "comment" in any class name, the Read the Docs theme, an API
reference whose content is a parameter table, a vBulletin thread, and a YUI
grid page of bare divs. Their first figures are reported apart in
docs/performance.md.
"""

from __future__ import annotations

import random
from html import escape

import chrome as c
from build import blocks_html, page

HELD_OUT = (
    "news-dataattrs",
    "blog-responses",
    "docs-rtd",
    "docs-apitable",
    "forum-vbulletin",
    "divs-yui",
)


def news_dataattrs(rng: random.Random, title: str, blocks) -> str:
    text = "".join(
        f'<div data-component="text-block"><p>{escape(t)}</p></div>'
        if k == "p"
        else f'<div data-component="subheadline-block">{blocks_html([(k, t)])}</div>'
        for k, t in blocks
    )
    body = (
        '<div id="header-content"><a href="/">Example Broadcasting</a><ul>'
        + c.links(c.SECTIONS[:9], href="/s/")
        + "</ul></div>"
        + '<div id="main-content"><article><header><h1 id="main-heading">'
        + escape(title)
        + "</h1></header>"
        + '<div data-component="byline-block"><span>By Priya Nair</span><span>Correspondent</span></div>'
        + text
        + '<div data-component="links-block"><h2>Related topics</h2><ul>'
        + c.links(rng.sample(c.SECTIONS, 3), href="/topics/")
        + "</ul></div>"
        + '<div data-component="tag-list"><ul>'
        + c.links(["Energy", "Research", "Europe"], href="/t/")
        + "</ul></div></article>"
        + '<section data-e2e="top-stories"><h2>Top stories</h2>'
        + "".join(
            f'<div><a href="/n/{i}"><span>{escape(h)}</span></a><p>Published 3 hours ago</p></div>'
            for i, h in enumerate(rng.sample(c.RELATED, 6))
        )
        + '</section><section data-e2e="features"><h2>Features</h2>'
        + "".join(
            f'<div><a href="/f/{i}"><span>{escape(h)}</span></a><p>{escape(rng.choice(c.COMMENTS))}</p></div>'
            for i, h in enumerate(rng.sample(c.RELATED, 4))
        )
        + "</section></div>"
        + '<div id="footer-content"><p>Copyright 2026 Example Broadcasting. We are not responsible for '
        + "the content of external sites.</p></div>"
    )
    return page(title, "Example Broadcasting", body)


def blog_responses(rng: random.Random, title: str, blocks) -> str:
    responses = "".join(
        f'<div class="response"><div class="response-head"><a href="/@r{i}">{rng.choice(c.NAMES)}</a>'
        f" <span>{rng.randint(1, 9)} days ago</span></div><p>{escape(' '.join(rng.sample(c.COMMENTS, 2)))}</p>"
        f'<div class="response-actions"><a href="#">{rng.randint(1, 40)} claps</a></div></div>'
        for i in range(rng.randint(12, 20))
    )
    body = (
        '<div class="topbar"><a href="/">Writers Collective</a> <a href="/write">Write</a></div>'
        + '<div class="layout"><div class="story"><h1>'
        + escape(title)
        + "</h1>"
        + '<div class="story-byline">Kim Aalto in Writers Collective · 6 min read</div>'
        + f'<div class="story-body">{blocks_html(blocks)}</div>'
        + '<div class="story-tags"><a href="/tag/1">Gardening</a> <a href="/tag/2">Life</a></div></div>'
        + f'<div class="responses"><h2>Responses ({len(responses)})</h2>{responses}</div>'
        + '<div class="author-bio"><h3>Kim Aalto</h3><p>Writes about plants, code and the slow life. '
        + "Editor of Writers Collective since 2021.</p></div></div>"
    )
    return page(title, "Writers Collective", body)


def docs_rtd(rng: random.Random, title: str, blocks) -> str:
    body = (
        '<div class="wy-grid-for-nav"><nav data-toggle="wy-nav-shift" class="wy-nav-side">'
        '<div class="wy-side-scroll"><div class="wy-side-nav-search"><a href="/">Example Server</a>'
        '<div class="version">2.4</div><form id="rtd-search-form"><input name="q"></form></div>'
        '<div class="wy-menu wy-menu-vertical" role="navigation"><ul>'
        + c.links(
            ["Installation", "Quickstart", "Configuration file", "Logging", "Changelog"],
            "toctree-l1",
            href="/d/",
        )
        + "</ul></div></div></nav>"
        + '<section data-toggle="wy-nav-shift" class="wy-nav-content-wrap"><nav class="wy-nav-top">'
        + '<a href="/">Example Server</a></nav><div class="wy-nav-content"><div class="rst-content">'
        + '<div role="navigation" aria-label="Page navigation"><ul class="wy-breadcrumbs"><li><a href="/">'
        + "Home</a> &raquo;</li><li>"
        + escape(title)
        + '</li><li class="wy-breadcrumbs-aside"><a href="/src">'
        + "View page source</a></li></ul><hr></div>"
        + '<div role="main" class="document" itemscope="itemscope"><div itemprop="articleBody">'
        + f'<section id="s"><h1>{escape(title)}</h1>{blocks_html(blocks)}</section></div></div>'
        + '<footer><div class="rst-footer-buttons" role="navigation"><a href="/prev" class="btn btn-neutral '
        + 'float-left">Previous</a><a href="/next" class="btn btn-neutral float-right">Next</a></div><hr>'
        + "<div role='contentinfo'><p>&copy; Copyright 2026, The Example Team.</p></div>Built with Sphinx "
        + "using a theme provided by Read the Docs.</footer></div></div></section></div>"
        + '<div class="rst-versions" data-toggle="rst-versions" role="note"><span>Read the Docs v: latest'
        + "</span><dl><dt>Versions</dt><dd><a href='/en/latest/'>latest</a></dd><dd><a href='/en/stable/'>"
        + "stable</a></dd></dl></div>"
    )
    return page(title, "Example Server documentation", body)


API_PARAMS = [
    ("url", "string", "The address to request. Relative addresses are resolved against base_url."),
    ("timeout", "float", "Seconds to wait for the server before giving up; None waits forever."),
    ("headers", "mapping", "Extra request headers, merged over the client's default headers."),
    (
        "retries",
        "integer",
        "How many times a failed request is retried before the error is raised.",
    ),
]


def docs_apitable(rng: random.Random, title: str, blocks) -> tuple[str, str]:
    rows = "".join(
        f"<tr><td><code>{n}</code></td><td>{t}</td><td>{escape(d)}</td></tr>"
        for n, t, d in API_PARAMS
    )
    intro = blocks[0][1]
    body = (
        '<div class="header"><a href="/">Example Client API</a> <a href="/guide">Guide</a> '
        '<a href="/api">Reference</a></div><div class="wrapper"><div class="menu-column"><ul>'
        + c.links(
            ["Client", "Client.get", "Client.post", "Response", "RetryPolicy", "errors"],
            href="/api/",
        )
        + "</ul></div>"
        + '<div class="doc-column"><h1>Client.get(url, **options)</h1>'
        + f"<p>{escape(intro)}</p><h2>Parameters</h2><table class='params'><thead><tr><th>Name</th>"
        + f"<th>Type</th><th>Description</th></tr></thead><tbody>{rows}</tbody></table>"
        + "<h2>Returns</h2><p>A Response whose body has been read, with the status, headers and the "
        + "decoded text.</p></div></div>"
        + '<div class="copyright">&copy; 2026 Example, Inc. Documentation licensed under CC BY 4.0.</div>'
    )
    gold = "\n".join(
        ["Client.get(url, **options)", intro, "Parameters", "Name", "Type", "Description"]
        + [f"{n} {t} {d}" for n, t, d in API_PARAMS]
        + [
            "Returns",
            "A Response whose body has been read, with the status, headers and the decoded text.",
        ]
    )
    return page("Client.get", "Example Client API", body), gold + "\n"


def forum_vbulletin(rng: random.Random, title: str, posts) -> str:
    items = "".join(
        f'<li class="postbitlegacy postbitim postcontainer" id="post_{i}"><div class="posthead">'
        f'<span class="postdate old"><span class="date">03-0{rng.randint(1, 9)}-2026</span></span>'
        f'<span class="nodecontrols"><a href="#post{i}" class="postcounter">#{i + 1}</a></span></div>'
        f'<div class="postdetails"><div class="userinfo"><a class="username" href="/member.php?u={i}">'
        f'<strong>{who}</strong></a><span class="usertitle">Senior Member</span><dl class="userinfo_extra">'
        f"<dt>Join Date</dt><dd>Feb 2014</dd><dt>Posts</dt><dd>{rng.randint(10, 9000)}</dd></dl></div>"
        f'<div class="postbody"><div class="postrow"><div class="content"><div id="post_message_{i}">'
        f'<blockquote class="postcontent restore">{escape(text)}</blockquote></div></div>'
        f'<div class="signaturecontainer">{escape(rng.choice(c.COMMENTS[:4]))}</div></div></div></div>'
        '<div class="postfoot"><span class="postcontrols"><a href="#">Reply With Quote</a></span></div></li>'
        for i, (who, text) in enumerate(posts)
    )
    body = (
        '<div class="above_body"><div id="header"><a href="/">Example Forums</a></div>'
        '<div id="navbar" class="navbar"><ul>'
        + c.links(["Forum", "What's New?", "FAQ", "Calendar"], href="/v/")
        + "</ul></div></div><div class='body_wrapper'><div id='breadcrumb'><a href='/'>Forum</a> &gt; "
        + "Help</div>"
        + f'<div id="pagetitle"><h1>Thread: <span class="threadtitle">{escape(title)}</span></h1></div>'
        + f'<div id="postlist" class="postlist restrain"><ol id="posts" class="posts">{items}</ol></div>'
        + '<div id="thread_info" class="thread_info block"><h4>Similar Threads</h4><ul>'
        + c.links(rng.sample(c.RELATED, 4), href="/st/")
        + "</ul></div></div>"
        + '<div id="footer" class="floatcontainer footer"><a href="/contact">Contact Us</a> All times are GMT. '
        + "The time now is 09:12 PM. Powered by vBulletin.</div>"
    )
    return page(title, "Example Forums", body)


def divs_yui(rng: random.Random, title: str, blocks) -> str:
    text = "".join(f'<div class="para">{escape(t)}</div>' for _, t in blocks)
    body = (
        '<div id="doc3" class="yui-t2"><div id="hd"><div class="logo"><a href="/">Riverside Council</a></div>'
        '<div class="quicklinks"><a href="/bins">Bin collection</a> <a href="/pay">Pay council tax</a> '
        "<a href='/report'>Report a problem</a></div></div>"
        '<div id="bd"><div id="yui-main"><div class="yui-b"><div class="yui-g">'
        f'<div class="pagetitle">{escape(title)}</div>{text}'
        '<div class="lastupdated">Last updated: 9 March 2026</div></div></div></div>'
        '<div class="yui-b"><div class="leftmenu">'
        + "".join(
            f'<div class="item"><a href="/l/{i}">{s}</a></div>'
            for i, s in enumerate(
                [
                    "Council and democracy",
                    "Housing",
                    "Planning",
                    "Roads and transport",
                    "Schools",
                    "Jobs",
                ]
            )
        )
        + "</div></div></div>"
        '<div id="ft"><div>Riverside Council, Town Hall, High Street. Telephone 01234 567890. '
        "Open Monday to Friday, 9am to 5pm.</div><div>"
        + c.links(c.FOOTER[:6], tag="span", href="/ft/")
        + "</div></div></div>"
    )
    return page(title, "Riverside Council", body)


def heldout_pages(news, blogs, docs, threads, divsoup, gold):
    """``(name, html, gold text)`` for every held-out page."""
    for key in ("battery", "transit"):
        title, blocks = news[key]
        name = f"news-dataattrs--{key}"
        yield name, news_dataattrs(random.Random(name), title, blocks), gold(title, blocks)
    for key in ("sourdough", "balcony"):
        title, blocks = blogs[key]
        name = f"blog-responses--{key}"
        yield name, blog_responses(random.Random(name), title, blocks), gold(title, blocks)
    for key in ("config", "retry"):
        title, blocks = docs[key]
        name = f"docs-rtd--{key}"
        yield name, docs_rtd(random.Random(name), title, blocks), gold(title, blocks)
    title, blocks = docs["quickstart"]
    html, gold_text = docs_apitable(random.Random("docs-apitable"), title, blocks)
    yield "docs-apitable--get", html, gold_text
    for key, (title, posts) in threads.items():
        name = f"forum-vbulletin--{key}"
        gold_text = "\n".join([title] + [text for _, text in posts]) + "\n"
        yield name, forum_vbulletin(random.Random(name), title, posts), gold_text
    for key in ("announce", "museum"):
        title, blocks = divsoup[key]
        name = f"divs-yui--{key}"
        yield name, divs_yui(random.Random(name), title, blocks), gold(title, blocks)
