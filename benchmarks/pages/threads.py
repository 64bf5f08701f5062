"""Benchmark page templates for forums, Q&A and bare-``<div>`` sites (see build.py).

In a forum thread every post is content; the profiles, signatures, post
buttons and "suggested topics" around them are not. On the Q&A page the
question and answers are content, the comments under them and the "hot
questions" sidebar are not.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from html import escape

import chrome as c
from build import page

SIGNATURES = [
    "Vaillant 831, 2014 install, 9 radiators",
    "Running since 1998. Slow but steady.",
    "If it ain't broke, take it apart and find out why.",
    "Forerunner 265 | Fenix 7 | too many shoes",
]


def forum_phpbb(rng: random.Random, title: str, posts: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<div id="p{i}" class="post has-profile bg{i % 2 + 1}"><div class="inner">'
        f'<dl class="postprofile"><dt><a class="username" href="/memberlist.php?u={i}">{who}</a></dt>'
        f'<dd class="profile-rank">{"Moderator" if i == 1 else "Member"}</dd>'
        f"<dd><strong>Posts:</strong> {rng.randint(3, 4000)}</dd><dd><strong>Joined:</strong> "
        f"{rng.choice(['Jan', 'May', 'Oct'])} {rng.randint(2009, 2025)}</dd></dl>"
        f'<div class="postbody"><h3><a href="#p{i}">{"Re: " if i else ""}{escape(title)}</a></h3>'
        f'<p class="author">by <strong>{who}</strong> &raquo; Sat Mar 07, 2026 {rng.randint(7, 23)}:1{i} pm</p>'
        f'<ul class="post-buttons"><li><a href="#" title="Quote">Quote</a></li></ul>'
        f'<div class="content">{escape(text)}</div>'
        f'<div class="signature">{escape(rng.choice(SIGNATURES))}</div></div>'
        '<div class="back2top"><a href="#top">Top</a></div></div></div>'
        for i, (who, text) in enumerate(posts)
    )
    body = (
        '<div id="wrap" class="wrap"><div class="headerbar" role="banner"><a href="/" class="logo">'
        "DIY Home Forum</a><p>Help and advice for home improvement</p></div>"
        '<div class="navbar" role="navigation"><ul class="linklist">'
        + c.links(["FAQ", "Register", "Login", "Board index", "Heating and plumbing"], href="/f/")
        + "</ul></div>"
        + f'<div id="page-body" class="page-body"><h2 class="topic-title">{escape(title)}</h2>'
        + '<div class="action-bar bar-top"><a href="/posting.php" class="button">Post Reply</a>'
        + f'<div class="pagination">{len(posts)} posts &bull; Page <strong>1</strong> of <strong>1</strong></div></div>'
        + items
        + '<div class="action-bar bar-bottom"><a href="/posting.php" class="button">Post Reply</a></div>'
        + '<div class="jumpbox"><span>Jump to</span><select><option>Heating and plumbing</option>'
        + "<option>Electrics</option><option>Kitchens</option></select></div>"
        + '<div class="stat-block online-list"><h3>Who is online</h3><p>Users browsing this forum: '
        + "Bing [Bot] and 14 guests</p></div></div>"
        + '<div id="page-footer" class="page-footer"><div class="copyright">Powered by phpBB&reg; Forum '
        + "Software &copy; phpBB Limited</div></div></div>"
    )
    return page(title, "DIY Home Forum", body)


def forum_discourse(rng: random.Random, title: str, posts: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<div class="topic-post clearfix regular" data-post-number="{i + 1}"><article class="boxed '
        f'onscreen-post" id="post_{i + 1}"><div class="row"><div class="topic-avatar"><img alt="" '
        f'src="/avatar/{who}.png"></div><div class="topic-body clearfix"><div class="topic-meta-data">'
        f'<div class="names"><span class="first username"><a href="/u/{who}">{who}</a></span></div>'
        f'<div class="post-infos"><a class="post-date" href="/t/1/{i + 1}">Mar {rng.randint(1, 9)}</a>'
        f'</div></div><div class="regular contents"><div class="cooked"><p>{escape(text)}</p></div>'
        f'<section class="post-menu-area clearfix"><nav class="post-controls"><button>{rng.randint(0, 30)}'
        " Likes</button><button>Copy a link to this post</button><button>Reply</button></nav>"
        "</section></div></div></div></article></div>"
        for i, (who, text) in enumerate(posts)
    )
    suggested = "".join(
        f'<tr class="topic-list-item"><td class="main-link"><a href="/t/{i}" class="title">{escape(h)}</a>'
        f'</td><td class="posts">{rng.randint(2, 80)}</td><td class="views">{rng.randint(100, 9000)}</td></tr>'
        for i, h in enumerate(rng.sample(c.RELATED, 5))
    )
    body = (
        '<section id="main"><header class="d-header"><div class="wrap"><div class="title"><a href="/">'
        "Outdoor Gear Community</a></div><div class='panel'><button>Sign Up</button><button>Log In"
        "</button></div></div></header>"
        + '<div id="main-outlet" class="wrap"><div class="container posts"><div id="topic-title">'
        + f'<h1><a href="/t/1" class="fancy-title">{escape(title)}</a></h1><div class="topic-category">'
        + "<a href='/c/gps'>GPS &amp; Navigation</a></div></div>"
        + f'<div class="post-stream">{items}</div>'
        + '<div id="topic-footer-buttons"><button>Share</button><button>Bookmark</button><button>Reply'
        + "</button></div>"
        + '<div class="more-topics__container"><h3 class="more-topics__list-title">Suggested Topics</h3>'
        + '<table class="topic-list"><thead><tr><th>Topic</th><th>Replies</th><th>Views</th></tr></thead>'
        + f"<tbody>{suggested}</tbody></table><h3>Want to read more? Browse other topics in GPS &amp; "
        + "Navigation or view latest topics.</h3></div></div></div></section>"
    )
    return page(title, "Outdoor Gear Community", body)


QA_COMMENTS = [
    "This does not work on Python 3.8, you get a TypeError.",
    "Possible duplicate of the question linked in the sidebar.",
    "What have you tried so far? Please show your code.",
    "Worth adding that the order of keys follows insertion order.",
    "Thanks, the second option is what I needed.",
    "Careful, this rewrites history if the branch is shared.",
]
HOT = [
    "Why does my loop run one time too many?",
    "Is it safe to delete the cache folder while the app is running?",
    "How can I tell whether a number is prime without a loop?",
    "What is the difference between a process and a thread?",
    "Why is floating point arithmetic not exact?",
    "How to format a date in ISO 8601 with a time zone",
]


def qa_page(rng: random.Random, title: str, question: str, answers: list[str]) -> str:
    def comments() -> str:
        picked = rng.sample(QA_COMMENTS, 3)
        return (
            '<div class="comments"><ul class="comments-list">'
            + "".join(
                f'<li class="comment"><div class="comment-body"><span class="comment-copy">{escape(t)}</span>'
                f' – <a class="comment-user" href="/users/{i}">user{rng.randint(100, 9999)}</a> '
                f'<span class="comment-date">Mar {i + 2}, 2026</span></div></li>'
                for i, t in enumerate(picked)
            )
            + '</ul><a class="js-add-link comments-link" href="#">Add a comment</a></div>'
        )

    answer_html = "".join(
        f'<div id="answer-{i}" class="answer js-answer"><div class="post-layout"><div class="votecell">'
        f'<div class="js-vote-count">{rng.randint(1, 900)}</div></div><div class="answercell post-layout--right">'
        f'<div class="s-prose js-post-body"><p>{escape(text)}</p></div>'
        f'<div class="post-signature"><a href="/users/{i}">answerer{i}</a> <span>{rng.randint(1, 99)}k</span>'
        f"</div></div>{comments()}</div></div>"
        for i, text in enumerate(answers)
    )
    body = (
        '<header class="s-topbar"><a class="s-topbar--logo" href="/">Example Overflow</a><ol class="s-topbar--content">'
        "<li><a href='/questions'>Questions</a></li><li><a href='/tags'>Tags</a></li></ol>"
        "<form class='s-topbar--searchbar'><input name='q' placeholder='Search…'></form></header>"
        + '<div class="container"><div id="left-sidebar" class="left-sidebar"><ul>'
        + c.links(["Home", "Questions", "Tags", "Users", "Companies", "Collectives"], href="/n/")
        + "</ul></div>"
        + f'<div id="content"><div id="question-header"><h1 itemprop="name"><a href="/q/1">{escape(title)}</a></h1>'
        + '<a href="/questions/ask" class="ws-nowrap s-btn">Ask Question</a></div>'
        + '<div class="d-flex">Asked 3 years ago Modified 1 year ago Viewed 412k times</div>'
        + '<div id="mainbar" role="main"><div class="question js-question"><div class="post-layout">'
        + f'<div class="votecell"><div class="js-vote-count">{rng.randint(100, 3000)}</div></div>'
        + f'<div class="postcell post-layout--right"><div class="s-prose js-post-body"><p>{escape(question)}</p></div>'
        + '<div class="post-taglist"><a class="post-tag" href="/t/python">python</a> <a class="post-tag" '
        + 'href="/t/git">git</a></div></div>'
        + comments()
        + "</div></div>"
        + f'<div id="answers"><div id="answers-header"><h2>{len(answers)} Answers</h2>'
        + "<div>Sorted by: Highest score (default)</div></div>"
        + answer_html
        + "</div>"
        + '<h2 class="bottom-notice">Not the answer you\'re looking for? Browse other questions tagged '
        + "python or ask your own question.</h2></div>"
        + '<div id="sidebar" class="show-votes" role="complementary"><div class="s-sidebarwidget">'
        + "<ul><li>The Overflow Blog</li><li>Featured on Meta</li></ul></div>"
        + '<div id="hot-network-questions" class="module tex2jax_ignore"><h4>Hot Network Questions</h4><ul>'
        + c.links(rng.sample(HOT, 5), href="/hq/")
        + "</ul></div></div></div></div>"
        + '<footer id="footer" class="site-footer"><div class="site-footer--container">'
        + c.links(
            ["About", "Press", "Work Here", "Legal", "Privacy Policy", "Contact Us"],
            tag="div",
            href="/f/",
        )
        + "<p>Site design / logo &copy; 2026 Example Exchange Inc; user contributions licensed under "
        + "CC BY-SA.</p></div></footer>"
    )
    return page(title, "Example Overflow", body)


def divsoup_corporate(rng: random.Random, title: str, blocks) -> str:
    paras = "".join(f'<div class="txt-block">{escape(t)}</div>' for k, t in blocks)
    body = (
        '<div class="wrapper"><div class="top-bar"><div class="logo"><a href="/"><img src="/logo.png" '
        'alt="Northline Logistics"></a></div><div class="top-links"><a href="/en">EN</a> | <a href="/de">'
        "DE</a> | <a href='/contact'>Contact</a> | <a href='/jobs'>Jobs</a></div></div>"
        '<div class="menu-bar"><div class="menu-item"><a href="/services">Services</a></div>'
        "<div class='menu-item'><a href='/sectors'>Sectors</a></div><div class='menu-item'><a href='/about'>"
        "About us</a></div><div class='menu-item'><a href='/newsroom'>Newsroom</a></div></div>"
        + '<div class="cols"><div class="col-left"><div class="box-title">Newsroom</div>'
        + "".join(
            f'<div class="sub-link"><a href="/n/{y}">News {y}</a></div>'
            for y in range(2026, 2018, -1)
        )
        + '<div class="box-title">Contact</div><div class="contact-box">Press office<br>+44 20 7946 0000'
        + "<br>press@northline.example</div></div>"
        + f'<div class="col-main"><div class="page-title">{escape(title)}</div>'
        + '<div class="date-line">10.03.2026</div>'
        + paras
        + '<div class="back-link"><a href="/newsroom">&laquo; Back to the overview</a></div></div>'
        + '<div class="col-right"><div class="teaser"><div class="teaser-title">Careers at Northline</div>'
        + "<div class='teaser-text'>We are hiring warehouse staff, drivers and planners in twelve "
        + "locations. Find the job that suits you and apply online in five minutes.</div></div>"
        + '<div class="teaser"><div class="teaser-title">Sustainability report 2025</div>'
        + "<div class='teaser-text'>Read how we cut our emissions per parcel by 18 percent in two years."
        + "</div></div></div></div>"
        + '<div class="bottom"><div class="bottom-links">'
        + c.links(c.FOOTER[:8], tag="span", href="/b/")
        + "</div><div class='copy'>&copy; 2026 Northline Logistics Ltd.</div></div></div>"
        + c.cookie_banner()
    )
    return page(title, "Northline Logistics", body)


def divsoup_cms(rng: random.Random, title: str, blocks) -> str:
    paras = "<br><br>".join(f'<font face="Verdana" size="2">{escape(t)}</font>' for k, t in blocks)
    menu = "".join(
        f'<div class="m1"><a href="/page.php?id={i}">{s}</a></div>'
        for i, s in enumerate(
            [
                "Home",
                "Visit",
                "Exhibitions",
                "Collection",
                "Events calendar",
                "Education",
                "Shop",
                "Support us",
            ]
        )
    )
    body = (
        '<div id="container"><div id="banner"><img src="/img/banner.jpg" alt="Town Museum"></div>'
        + f'<div id="leftcol">{menu}<div class="hours"><b>Opening hours</b><br>Tue–Sun 10–17<br>Mon closed'
        + "</div></div>"
        + f'<div id="maincol"><div class="pagehead">{escape(title)}</div><div class="crumbs"><a href="/">Home</a>'
        + " &gt; <a href='/page.php?id=3'>Collection</a></div>"
        + f'<div class="inhalt">{paras}</div>'
        + '<div class="druck"><a href="javascript:print()">Print page</a></div></div>'
        + '<div id="rightcol"><div class="news"><b>News</b><br>'
        + "".join(
            f'<a href="/news.php?id={i}">{escape(h)}</a><br>'
            for i, h in enumerate(rng.sample(c.RELATED, 4))
        )
        + "</div></div>"
        + '<div id="footer">Town Museum · Market Square 4 · Tel. 0123 45678 · <a href="/imprint">Imprint</a>'
        + " · <a href='/privacy'>Privacy</a></div></div>"
    )
    return page(title, "Town Museum", body)


def forum_pages(qanda, threads, divsoup, gold: Callable) -> Iterator[tuple[str, str, str]]:
    """``(name, html, gold text)`` for every forum, Q&A and bare-div page."""
    for key, (title, posts) in threads.items():
        gold_text = "\n".join([title] + [text for _, text in posts]) + "\n"
        for kind, template in (("forum-phpbb", forum_phpbb), ("forum-discourse", forum_discourse)):
            name = f"{kind}--{key}"
            yield name, template(random.Random(name), title, posts), gold_text
    for key, (title, question, answers) in qanda.items():
        name = f"forum-qa--{key}"
        gold_text = "\n".join([title, question, *answers]) + "\n"
        yield name, qa_page(random.Random(name), title, question, answers), gold_text
    for key, (title, blocks) in divsoup.items():
        for kind, template in (("divs-corporate", divsoup_corporate), ("divs-cms", divsoup_cms)):
            name = f"{kind}--{key}"
            yield name, template(random.Random(name), title, blocks), gold(title, blocks)
