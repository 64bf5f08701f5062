"""Write the benchmark pages: each main text of ``content`` inside site templates.

Every page is written as ``NAME.html`` with its gold text beside it as
``NAME.gold.txt`` (the headline and the main text, one block a line). The
templates copy the markup habits of common site types: a news site whose first
``<main>`` is an ad slot, news with in-article ads and a legacy table layout,
WordPress, Medium-like and Ghost blogs with comments and recommendations,
Sphinx, MkDocs-Material and Docusaurus docs, phpBB and Discourse forums, a Q&A
site, and pages built from bare ``<div>``s. Seeded, so the files do not change.
``heldout.py`` adds templates written after the extractor was frozen.

Run: python benchmarks/pages/build.py
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chrome as c  # noqa: E402
from content import BLOGS, DIVSOUP, DOCS, NEWS, QANDA, THREADS, Block  # noqa: E402

Template = Callable[[random.Random, str, list[Block]], str]


def blocks_html(blocks: list[Block], para: str = "p", head: str = "h2") -> str:
    """The blocks as HTML, paragraphs in ``para`` elements ('br' joins them with <br><br>)."""
    out = []
    for kind, text in blocks:
        if kind == "h":
            out.append(f"<{head}>{escape(text)}</{head}>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in text.split("|")) + "</ul>")
        elif kind == "pre":
            out.append(f"<pre><code>{escape(text)}</code></pre>")
        elif kind == "q":
            out.append(f"<blockquote><p>{escape(text)}</p></blockquote>")
        elif para == "br":
            out.append(escape(text) + "<br><br>\n")
        else:
            out.append(f"<{para}>{escape(text)}</{para}>")
    return "\n".join(out)


def gold(title: str, blocks: list[Block]) -> str:
    lines = [title]
    for kind, text in blocks:
        lines.extend(text.split("|") if kind == "ul" else text.splitlines())
    return "\n".join(lines) + "\n"


def page(title: str, site: str, body: str, head_extra: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | {site}'
        f"</title><script>window.dataLayer=[];function gtag(){{dataLayer.push(arguments)}}</script>"
        f"<style>.ad-slot{{min-height:250px}}</style>{head_extra}</head><body>{body}</body></html>"
    )


def with_ads(blocks: list[Block], every: int, label: str = "Advertisement") -> str:
    parts = []
    for i in range(0, len(blocks), every):
        parts.append(blocks_html(blocks[i : i + every]))
        parts.append(c.ad_slot(label))
    return "\n".join(parts[:-1])


# -- news -------------------------------------------------------------------------


def news_two_mains(rng: random.Random, title: str, blocks: list[Block]) -> str:
    body = (
        c.cookie_banner()
        + c.mega_menu(rng)
        + '<main class="ad-slot top-leaderboard">'
        + c.ad_slot()
        + "</main>"
        + '<main id="content"><article class="story">'
        + f'<h1 class="headline">{escape(title)}</h1>'
        + '<p class="byline">By <a href="/authors/kl">Kari Lund</a>, Local affairs reporter '
        + "<time>12 March 2026, 18:04</time></p>"
        + c.share_bar()
        + f'<div class="story-body">{with_ads(blocks, 4)}</div>'
        + '<p class="topics">Topics: <a href="/t/1">Local news</a> <a href="/t/2">Climate</a></p>'
        + "</article>"
        + c.related(rng, 6, "More on this story")
        + "</main>"
        + '<aside class="most-read"><h2>Most read</h2><ol>'
        + c.links(c.RELATED[:8], href="/mr/")
        + "</ol></aside>"
        + c.newsletter()
        + c.site_footer(rng)
    )
    return page(title, "The Daily Example", body)


def news_in_article_ads(rng: random.Random, title: str, blocks: list[Block]) -> str:
    body = (
        c.mega_menu(rng)
        + '<div id="maincontent" class="page-wrapper"><div class="content-grid">'
        + '<article class="article"><div class="article-header">'
        + f'<p class="kicker"><a href="/science">Science</a></p><h1>{escape(title)}</h1>'
        + '<div class="meta"><span class="author">By Ben Hart</span> <span class="date">Wed 4 Mar 2026'
        + "</span> <span class='comments-count'><a href='#comments'>214 comments</a></span></div></div>"
        + '<div class="article-body">'
        + blocks_html(blocks[:3])
        + c.ad_slot()
        + '<div class="inline-related"><strong>Read more:</strong><ul>'
        + c.links(rng.sample(c.RELATED, 2), href="/read/")
        + "</ul></div>"
        + blocks_html(blocks[3:])
        + "</div>"
        + c.share_bar()
        + "</article>"
        + '<div class="sidebar-right"><div class="widget trending"><h3>Trending</h3><ul>'
        + c.links(rng.sample(c.RELATED, 6), href="/tr/")
        + "</ul></div>"
        + c.ad_slot()
        + "</div>"
        + "</div>"
        + '<section class="most-popular"><h2>Most popular</h2>'
        + "".join(
            f'<div class="card"><a href="/p/{i}"><h3>{escape(h)}</h3></a>'
            "<p>The latest developments, and what they mean for readers across the region.</p></div>"
            for i, h in enumerate(rng.sample(c.RELATED, 5))
        )
        + "</section>"
        + c.newsletter()
        + "</div>"
        + c.site_footer(rng)
        + c.cookie_banner()
    )
    return page(title, "Example News", body)


def news_legacy(rng: random.Random, title: str, blocks: list[Block]) -> str:
    sections = "".join(
        f'<a href="/s/{i}" class="navlink">{s}</a><br>' for i, s in enumerate(c.SECTIONS)
    )
    body = (
        '<table width="100%" cellpadding="0" cellspacing="0"><tr><td colspan="2" class="masthead">'
        '<img src="/logo.gif" alt="The Valley Courier"> <font size="1">Serving the valley since 1921'
        "</font></td></tr><tr>"
        + f'<td class="leftnav" width="160" valign="top">{sections}<br><div class="weather">Weather: '
        + "12&deg;C, light rain</div></td>"
        + '<td valign="top"><div class="storyheadline">'
        + escape(title)
        + "</div>"
        + '<div class="storydate">Posted: Thursday, March 12, 2026 5:41 PM</div>'
        + '<div class="storytext">'
        + blocks_html(blocks, para="br", head="b")
        + "</div>"
        + '<div class="tools"><a href="/print">Print this story</a> | <a href="/email">Email this story</a>'
        + "</div>"
        + c.ad_slot()
        + '<div class="moreheadlines"><b>More headlines</b><br>'
        + "".join(
            f'<a href="/st/{i}">{escape(h)}</a><br>'
            for i, h in enumerate(rng.sample(c.RELATED, 10))
        )
        + "</div></td></tr></table>"
        + '<div class="copyright">Copyright &copy; 2026 The Valley Courier. All rights reserved. This '
        + "material may not be published, broadcast, rewritten or redistributed.</div>"
    )
    return page(title, "The Valley Courier", body)


# -- blogs ------------------------------------------------------------------------


def blog_wordpress(rng: random.Random, title: str, blocks: list[Block]) -> str:
    widgets = (
        '<aside id="secondary" class="widget-area"><section class="widget widget_search"><form>'
        '<input name="s"></form></section><section class="widget widget_recent_entries">'
        "<h2 class='widget-title'>Recent Posts</h2><ul>"
        + c.links(rng.sample(c.RELATED, 5), href="/?p=")
        + "</ul></section><section class='widget widget_categories'><h2 class='widget-title'>Categories"
        + "</h2><ul>"
        + c.links(["Baking", "Garden", "Code", "Travel", "Uncategorized"], href="/cat/")
        + "</ul></section></aside>"
    )
    body = (
        '<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">Skip to '
        'content</a><header id="masthead" class="site-header"><p class="site-title"><a href="/">'
        "Notes from a small kitchen</a></p><p class='site-description'>Baking, gardening and other "
        "experiments</p><nav id='site-navigation' class='main-navigation'><ul>"
        + c.links(["Home", "About", "Recipes", "Contact"], href="/page/")
        + "</ul></nav></header>"
        + '<div id="content" class="site-content"><div id="primary" class="content-area">'
        + '<main id="main" class="site-main"><article class="post type-post status-publish hentry">'
        + f'<header class="entry-header"><h1 class="entry-title">{escape(title)}</h1>'
        + '<div class="entry-meta"><span class="posted-on">Posted on <time>March 3, 2026</time></span>'
        + ' <span class="byline">by <a href="/author/anna">Anna</a></span></div></header>'
        + f'<div class="entry-content">{blocks_html(blocks)}'
        + '<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul>'
        + c.links(["Twitter", "Facebook", "Pinterest"], href="/share/")
        + "</ul></div>"
        + '<div class="jp-relatedposts"><h3>Related</h3>'
        + c.links(rng.sample(c.RELATED, 3), tag="p", href="/rel/")
        + "</div></div>"
        + '<footer class="entry-footer"><span class="cat-links">Posted in <a href="/cat/1">Notes</a>'
        + "</span></footer></article>"
        + '<nav class="navigation post-navigation"><a href="/prev">Previous post</a> '
        + '<a href="/next">Next post</a></nav>'
        + c.comment_thread(rng, rng.randint(18, 32), "wordpress")
        + "</main></div>"
        + widgets
        + "</div>"
        + '<footer id="colophon" class="site-footer"><div class="site-info">Proudly powered by '
        + "WordPress | Theme: Twenty Something</div></footer></div>"
    )
    return page(title, "Notes from a small kitchen", body)


def blog_medium(rng: random.Random, title: str, blocks: list[Block]) -> str:
    paras = "".join(
        f'<p class="pw-post-body-paragraph kx ky ro kz b la lb">{escape(t)}</p>'
        if k == "p"
        else blocks_html([(k, t)], head='h2 class="pw-post-title"')
        for k, t in blocks
    )
    cards = "".join(
        f'<div class="ab cm"><div class="gh"><a href="/@x/{i}"><h2 class="bf fy">{escape(h)}</h2>'
        f'<div class="hq"><p class="bf b">{escape(rng.choice(c.COMMENTS))} Read the rest of the story '
        "to find out how it ended.</p></div></a><span>6 min read</span> <span>Mar 2</span></div></div>"
        for i, h in enumerate(rng.sample(c.RELATED, 6))
    )
    body = (
        '<div id="root"><div class="a b c"><div class="l ak"><a href="/">Medium-ish</a>'
        '<a href="/search">Search</a><a href="/new-story">Write</a><a href="/m/signin">Sign in</a></div>'
        '<div class="s u w"><article><div class="l"><section><div class="fr fs ft">'
        + f'<h1 class="pw-post-title ga gb gc">{escape(title)}</h1>'
        + '<div class="speechify-ignore"><a href="/@author">Robin Vale</a> · Follow · 7 min read · '
        + "Feb 27, 2026 · 1.2K claps · 34 responses · Listen · Share</div>"
        + paras
        + "</div></section></div></article>"
        + '<div class="pw-multi-vote-count"><button>1.2K</button></div>'
        + '<div class="fm"><h2>Written by Robin Vale</h2><p>2.3K Followers. Software, plants and '
        + "bread. Writing about small experiments every week.</p><button>Follow</button></div>"
        + f'<div class="more-from"><h2>More from Robin Vale</h2>{cards}</div>'
        + '<div class="ft"><a href="/about">About</a> <a href="/help">Help</a> <a href="/terms">Terms'
        + "</a> <a href='/privacy'>Privacy</a></div></div></div></div>"
    )
    return page(title, "Medium-ish", body)


def blog_ghost(rng: random.Random, title: str, blocks: list[Block]) -> str:
    body = (
        '<div class="gh-viewport"><header id="gh-head" class="gh-head"><a class="gh-head-logo" '
        'href="/">Field Notes</a><nav class="gh-head-menu"><ul class="nav">'
        + c.links(["Home", "Archive", "About", "Membership"], href="/g/")
        + "</ul></nav>"
        + '<a class="gh-head-button" href="#/portal/signup">Subscribe</a></header>'
        + '<main id="gh-main" class="gh-main"><article class="gh-article post">'
        + f'<header class="gh-article-header gh-canvas"><h1 class="gh-article-title">{escape(title)}</h1>'
        + '<p class="gh-article-excerpt">Notes from the season.</p><div class="gh-article-meta">'
        + "<span>Sam Ortiz</span> <time>Mar 8, 2026</time> <span>— 5 min read</span></div></header>"
        + f'<section class="gh-content gh-canvas">{blocks_html(blocks)}</section>'
        + "</article>"
        + '<section class="footer-cta"><h2>Sign up for Field Notes</h2><p>Get new posts straight to '
        + "your inbox. No spam, unsubscribe at any time.</p><form><input type='email'><button>Subscribe"
        + "</button></form></section>"
        + '<section class="article-comments gh-canvas">'
        + c.comment_thread(rng, rng.randint(15, 30), "disqus")
        + "</section></main>"
        + '<section class="gh-readmore"><h3>Read more</h3><div class="gh-feed">'
        + "".join(
            f'<article class="gh-card post"><a class="gh-card-link" href="/r/{i}"><h3 class="gh-card-title">'
            f'{escape(h)}</h3><p class="gh-card-excerpt">{escape(rng.choice(c.COMMENTS))}</p></a></article>'
            for i, h in enumerate(rng.sample(c.RELATED, 4))
        )
        + "</div></section>"
        + '<footer class="gh-foot"><div class="gh-foot-inner">Field Notes &copy; 2026 · Powered by Ghost'
        + "</div></footer></div>"
    )
    return page(title, "Field Notes", body)


# -- docs ---------------------------------------------------------------------------

DOC_PAGES = [
    "Installation",
    "Quickstart",
    "Configuration file",
    "Command line",
    "Logging",
    "Deployment",
    "Retrying failed requests",
    "Pagination",
    "Authentication",
    "Error handling",
    "Changelog",
    "API reference",
    "Contributing",
    "FAQ",
]


def docs_sphinx(rng: random.Random, title: str, blocks: list[Block]) -> str:
    html = blocks_html(blocks).replace(
        "</h2>", '<a class="headerlink" href="#s" title="Link to this heading">¶</a></h2>'
    )
    rel = (
        '<div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3><ul>'
        '<li class="right"><a href="/genindex.html">index</a></li><li class="right"><a href="/py-modindex.html">'
        "modules</a> |</li><li><a href='/index.html'>Example Server 2.4 documentation</a> &raquo;</li></ul></div>"
    )
    body = (
        rel
        + '<div class="document"><div class="documentwrapper"><div class="bodywrapper">'
        + '<div class="body" role="main"><section id="page">'
        + f'<h1>{escape(title)}<a class="headerlink" href="#page">¶</a></h1>{html}</section></div></div></div>'
        + '<div class="sphinxsidebar" role="navigation" aria-label="main navigation">'
        + '<div class="sphinxsidebarwrapper"><h3><a href="/index.html">Table of Contents</a></h3><ul>'
        + c.links(DOC_PAGES, "toctree-l1", href="/docs/")
        + "</ul>"
        + '<div role="note" aria-label="source link"><h3>This Page</h3><ul class="this-page-menu">'
        + "<li><a href='/_sources/x.rst.txt'>Show Source</a></li></ul></div>"
        + '<div id="searchbox" role="search"><h3>Quick search</h3><form class="search"><input name="q">'
        + "<input type='submit' value='Go'></form></div></div></div>"
        + '<div class="clearer"></div></div>'
        + rel
        + '<div class="footer" role="contentinfo">&copy; Copyright 2026, The Example Team. Created using '
        + "<a href='https://www.sphinx-doc.org/'>Sphinx</a> 7.2.6.</div>"
    )
    return page(title, "Example Server 2.4 documentation", body)


def docs_mkdocs(rng: random.Random, title: str, blocks: list[Block]) -> str:
    toc = "".join(
        f'<li class="md-nav__item"><a href="#{i}" class="md-nav__link">{escape(t)}</a></li>'
        for i, (k, t) in enumerate(blocks)
        if k == "h"
    )
    body = (
        '<header class="md-header" data-md-component="header"><nav class="md-header__inner md-grid">'
        '<a href="/" class="md-header__button md-logo">Example</a><div class="md-header__title">'
        f'<span class="md-ellipsis">Example Client</span><span class="md-ellipsis">{escape(title)}</span></div>'
        '<div class="md-search"><input class="md-search__input" placeholder="Search"></div>'
        '<div class="md-header__source"><a href="https://git.example/client">example/client 1.2k stars</a></div>'
        "</nav></header>"
        + '<div class="md-container"><main class="md-main"><div class="md-main__inner md-grid">'
        + '<div class="md-sidebar md-sidebar--primary"><div class="md-sidebar__scrollwrap">'
        + '<nav class="md-nav md-nav--primary"><ul class="md-nav__list">'
        + c.links(DOC_PAGES, "md-nav__item", href="/guide/")
        + "</ul></nav></div></div>"
        + '<div class="md-sidebar md-sidebar--secondary"><div class="md-sidebar__scrollwrap">'
        + f'<nav class="md-nav md-nav--secondary"><label class="md-nav__title">Table of contents</label><ul>{toc}</ul>'
        + "</nav></div></div>"
        + '<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">'
        + f'<a href="/edit" class="md-content__button md-icon" title="Edit this page">Edit</a><h1>{escape(title)}</h1>'
        + blocks_html(blocks)
        + '<form class="md-feedback"><fieldset><legend class="md-feedback__title">Was this page helpful?'
        + "</legend><button>Yes</button><button>No</button></fieldset></form>"
        + '<aside class="md-source-file">Last update: March 1, 2026</aside></article></div></div></main>'
        + '<footer class="md-footer"><nav class="md-footer__inner"><a href="/prev" class="md-footer__link">'
        + "Previous: Installation</a><a href='/next' class='md-footer__link'>Next: Logging</a></nav>"
        + '<div class="md-copyright">Copyright &copy; 2026 Example. Made with Material for MkDocs</div>'
        + "</footer></div>"
    )
    return page(title, "Example Client", body)


def docs_docusaurus(rng: random.Random, title: str, blocks: list[Block]) -> str:
    toc = "".join(
        f'<li><a href="#{i}" class="table-of-contents__link">{escape(t)}</a></li>'
        for i, (k, t) in enumerate(blocks)
        if k == "h"
    )
    body = (
        '<div id="__docusaurus"><div role="region" aria-label="Skip to main content"><a class="skipToContent" '
        'href="#__docusaurus_skipToContent_fallback">Skip to main content</a></div>'
        '<div class="announcementBar" role="banner">Version 3.0 is out! Read the release notes.</div>'
        '<nav class="navbar navbar--fixed-top"><div class="navbar__inner"><a class="navbar__brand" href="/">'
        "Example SDK</a><a class='navbar__item' href='/docs'>Docs</a><a class='navbar__item' href='/blog'>Blog"
        "</a><a class='navbar__item' href='/community'>Community</a></div></nav>"
        + '<div class="main-wrapper docsWrapper"><div class="docPage">'
        + '<aside class="theme-doc-sidebar-container"><div class="sidebar"><nav class="menu thin-scrollbar">'
        + '<ul class="theme-doc-sidebar-menu menu__list">'
        + c.links(DOC_PAGES, "menu__list-item", href="/docs/")
        + "</ul></nav></div></aside>"
        + '<main class="docMainContainer"><div class="container padding-top--md"><div class="row">'
        + '<div class="col docItemCol"><div class="docItemContainer"><article>'
        + '<nav class="theme-doc-breadcrumbs" aria-label="Breadcrumbs"><ul class="breadcrumbs">'
        + "<li><a href='/'>Home</a></li><li>Guides</li></ul></nav>"
        + '<span class="theme-doc-version-badge badge">Version: 3.0</span>'
        + f'<div class="theme-doc-markdown markdown"><header><h1>{escape(title)}</h1></header>'
        + blocks_html(blocks)
        + "</div>"
        + '<footer class="theme-doc-footer docusaurus-mt-lg"><a href="/edit" class="theme-edit-this-page">'
        + "Edit this page</a></footer></article>"
        + '<nav class="pagination-nav docusaurus-mt-lg" aria-label="Docs pages"><a class="pagination-nav__link" '
        + 'href="/prev"><div class="pagination-nav__sublabel">Previous</div><div class="pagination-nav__label">'
        + "Installation</div></a><a class='pagination-nav__link' href='/next'><div class='pagination-nav__sublabel'>"
        + "Next</div><div class='pagination-nav__label'>Logging</div></a></nav></div></div>"
        + '<div class="col col--3"><div class="tableOfContents thin-scrollbar">'
        + f'<ul class="table-of-contents">{toc}</ul></div></div></div></div></main></div></div>'
        + '<footer class="footer footer--dark"><div class="footer__links">'
        + c.links(
            ["Docs", "Discord", "Stack Overflow", "Blog", "GitHub"], "footer__item", href="/f/"
        )
        + '</div><div class="footer__copyright">Copyright &copy; 2026 Example, Inc. Built with '
        + "Docusaurus.</div></footer></div>"
    )
    return page(title, "Example SDK", body)


TEMPLATES: dict[str, tuple[Template, dict[str, tuple[str, list[Block]]]]] = {
    "news-two-mains": (news_two_mains, NEWS),
    "news-in-article-ads": (news_in_article_ads, NEWS),
    "news-legacy-table": (news_legacy, NEWS),
    "blog-wordpress": (blog_wordpress, BLOGS),
    "blog-medium": (blog_medium, BLOGS),
    "blog-ghost": (blog_ghost, BLOGS),
    "docs-sphinx": (docs_sphinx, DOCS),
    "docs-mkdocs": (docs_mkdocs, DOCS),
    "docs-docusaurus": (docs_docusaurus, DOCS),
}


def main() -> None:
    from heldout import heldout_pages
    from threads import forum_pages

    written = 0
    for template_name, (template, bodies) in TEMPLATES.items():
        for body_name, (title, blocks) in bodies.items():
            name = f"{template_name}--{body_name}"
            rng = random.Random(name)
            (HERE / f"{name}.html").write_text(template(rng, title, blocks), encoding="utf-8")
            (HERE / f"{name}.gold.txt").write_text(gold(title, blocks), encoding="utf-8")
            written += 1
    more = [
        *forum_pages(QANDA, THREADS, DIVSOUP, gold),
        *heldout_pages(NEWS, BLOGS, DOCS, THREADS, DIVSOUP, gold),
    ]
    for name, html, gold_text in more:
        (HERE / f"{name}.html").write_text(html, encoding="utf-8")
        (HERE / f"{name}.gold.txt").write_text(gold_text, encoding="utf-8")
        written += 1
    print(f"wrote {written} pages to {HERE}")


if __name__ == "__main__":
    main()
