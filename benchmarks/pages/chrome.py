"""Boilerplate that real pages carry around their main text, as HTML snippets.

Menus, cookie banners, ad slots, share bars, related-article lists, newsletter
boxes, comment threads, sidebars and footers, modelled on what news sites,
blogs, documentation generators and forums put on their pages. None of it is
part of a page's gold text.
"""

from __future__ import annotations

import random
from html import escape

SECTIONS = [
    "World",
    "Politics",
    "Business",
    "Climate",
    "Technology",
    "Science",
    "Health",
    "Sport",
    "Culture",
    "Opinion",
    "Lifestyle",
    "Travel",
    "Podcasts",
    "Video",
]
RELATED = [
    "Five things to know before the budget vote next week",
    "Rents rise for the ninth month in a row, figures show",
    "Opinion: our cities were not built for the summers we now have",
    "Live: storm warnings issued for the coast as winds pick up",
    "The quiet town that became a hub for electric ferries",
    "Ministers split over plans to extend the high-speed line",
    "Why your energy bill could fall this spring, and why it might not",
    "Photos: the week in pictures",
    "A beginner's guide to the new recycling rules",
    "Football club confirms sale after months of speculation",
    "Teachers' union calls for talks over classroom sizes",
    "How a small museum found a lost painting in its own attic",
    "The best budget headphones we tested this year",
    "Quiz: how well did you follow the news this week?",
    "Heatwave to continue through the weekend, forecasters say",
    "Court rules on disputed wind farm near the national park",
]
COMMENTS = [
    "Great article, thanks for writing this up. I have been wondering about this for a while and nobody explains it as clearly.",
    "I disagree with a lot of this. In my experience the opposite is true, and I have been doing this for more than fifteen years.",
    "Does anyone know if this also applies to older models? Mine is from 2016 and I could not find anything in the manual.",
    "This is exactly what happened to us last year. We ended up paying twice what we were quoted and the problem came back anyway.",
    "Thanks! Bookmarked for later.",
    "Could you do a follow-up post on the costs involved? That is the part I always struggle to estimate before starting.",
    "I tried this over the weekend and it worked perfectly, although the second step took much longer than you describe.",
    "Not sure why people are surprised by this. It has been obvious for years to anyone who was paying attention to the numbers.",
    "My grandfather used to say the same thing, and he was right about most things. Funny how old advice keeps coming back.",
    "The link in the third paragraph seems to be broken, it goes to a page that says not found.",
    "Love the photos. Which camera and lens did you use for the one at the top? The colours are beautiful.",
    "Interesting, but I would like to see some sources for the claims in the second half. Some of it sounds like guesswork to me.",
    "We had the same debate in our town council and it went nowhere for years. Glad to see somewhere actually deciding something.",
    "Reply to the comment above: you are missing the point entirely, the article clearly says this is only a first step.",
    "First time commenting here after reading for years. This is one of the few sites where the comments are worth reading too.",
    "I would be careful with the advice in the last section. It depends a lot on local rules, and where I live it would not be allowed.",
    "Anyone else reading this on their lunch break and now wanting to quit their job and do this full time?",
    "Well written, but the headline is misleading. The actual change is much smaller than it suggests.",
    "Thank you for mentioning the downsides as well. Too many posts like this only talk about the good parts.",
    "I shared this with my team. We have been arguing about exactly this question for two weeks now.",
    "Can confirm, same experience here. It took me three attempts before I got it right, so do not give up after the first one.",
    "The comparison with last year is not fair, because the conditions were completely different. Still, a useful summary.",
    "How does this compare with the approach from the other article you published in the spring? They seem to contradict each other.",
    "Brilliant. More of this kind of reporting please, and fewer celebrity stories.",
]
NAMES = [
    "Jonas",
    "Priya K.",
    "oldtimer_55",
    "Maria Lindqvist",
    "dave",
    "Chen Wei",
    "Sofia",
    "R. Okonkwo",
    "bluebird",
    "Tom H.",
    "Elena",
    "NightOwl",
    "Karim",
    "Ingrid",
    "Pat",
]
FOOTER = [
    "About us",
    "Contact",
    "Careers",
    "Advertise with us",
    "Terms of use",
    "Privacy policy",
    "Cookie settings",
    "Accessibility",
    "Help centre",
    "Newsletters",
    "Subscribe",
    "Sitemap",
    "Corrections",
    "Archive",
    "RSS feeds",
    "Press",
]


def links(items: list[str], cls: str = "", tag: str = "li", href: str = "/") -> str:
    """Each item as a link inside ``tag``."""
    attr = f' class="{cls}"' if cls else ""
    return "".join(
        f'<{tag}{attr}><a href="{href}{i}">{escape(item)}</a></{tag}>'
        for i, item in enumerate(items)
    )


def cookie_banner() -> str:
    """A consent banner of the kind most European sites show."""
    return (
        '<div id="cookie-consent" class="cookie-banner" role="dialog">'
        "<p>We use cookies and similar technologies to personalise content and ads, to provide "
        "social media features and to analyse our traffic. We also share information about your "
        "use of our site with our advertising and analytics partners, who may combine it with "
        "other information that you have provided to them.</p>"
        '<button class="accept">Accept all</button><button>Manage preferences</button>'
        '<a href="/privacy">Read our privacy policy</a></div>'
    )


def ad_slot(label: str = "Advertisement") -> str:
    """An ad slot: a label and a sponsored teaser."""
    return (
        f'<div class="ad-slot ad-container" data-ad-unit="mpu"><span class="ad-label">{label}</span>'
        '<div class="sponsored"><a href="https://ads.example/c?id=81"><img src="/ad.jpg" alt="">'
        "<span>Homeowners are switching to this heat pump. See if you qualify for a grant today."
        "</span></a></div></div>"
    )


def share_bar() -> str:
    """Share buttons."""
    return (
        '<div class="share-tools"><span>Share this article</span>'
        '<a href="https://social.example/share">Share on Facebook</a>'
        '<a href="https://x.example/intent">Share on X</a>'
        '<a href="mailto:?subject=x">Email</a><button>Copy link</button></div>'
    )


def newsletter() -> str:
    """A newsletter sign-up box."""
    return (
        '<div class="newsletter-signup"><h3>Get the morning briefing</h3>'
        "<p>The day's most important stories, explained, in your inbox every weekday at 7 a.m.</p>"
        '<form><input type="email" placeholder="Your email address"><button>Sign up</button></form>'
        "<p><small>By signing up you agree to our terms and privacy policy.</small></p></div>"
    )


def related(rng: random.Random, count: int, title: str = "Related stories") -> str:
    """A related-articles list of ``count`` headlines."""
    picked = rng.sample(RELATED, count)
    return (
        f'<div class="related-articles"><h2>{title}</h2><ul>'
        + links(picked, "related-item", href="/news/")
        + "</ul></div>"
    )


def comment_thread(rng: random.Random, count: int, style: str = "wordpress") -> str:
    """A comment thread of ``count`` comments in the markup of ``style``."""
    items = []
    for i in range(count):
        name = rng.choice(NAMES)
        text = " ".join(rng.sample(COMMENTS, rng.choice([1, 1, 2, 3])))
        when = f"{rng.randint(1, 28)} March 2026 at {rng.randint(0, 23)}:{rng.randint(10, 59)}"
        if style == "wordpress":
            items.append(
                f'<li id="comment-{i}" class="comment even thread-even depth-1">'
                f'<article class="comment-body"><footer class="comment-meta"><div class="comment-author vcard">'
                f'<b class="fn">{name}</b> <span class="says">says:</span></div>'
                f'<div class="comment-metadata"><a href="#comment-{i}"><time>{when}</time></a></div></footer>'
                f'<div class="comment-content"><p>{escape(text)}</p></div>'
                f'<div class="reply"><a class="comment-reply-link" href="#respond">Reply</a></div>'
                "</article></li>"
            )
        else:
            items.append(
                f'<div class="post" id="post-{i}"><div class="post-byline"><span class="author">{name}</span>'
                f' <span class="post-meta">{when}</span></div>'
                f'<div class="post-body"><div class="post-message"><p>{escape(text)}</p></div></div>'
                '<div class="post-actions"><a href="#">Like</a> <a href="#">Reply</a></div></div>'
            )
    if style == "wordpress":
        return (
            f'<div id="comments" class="comments-area"><h2 class="comments-title">{count} thoughts on this post</h2>'
            f'<ol class="comment-list">{"".join(items)}</ol>'
            '<div id="respond" class="comment-respond"><h3>Leave a Reply</h3>'
            "<p>Your email address will not be published. Required fields are marked *</p>"
            '<form><textarea name="comment"></textarea><input name="author"><input type="submit" '
            'value="Post Comment"></form></div></div>'
        )
    return (
        f'<div id="disqus_thread"><div class="thread-header">{count} Comments</div>'
        f'<div class="posts">{"".join(items)}</div></div>'
    )


def site_footer(rng: random.Random) -> str:
    """A footer with many links and a copyright line."""
    return (
        '<footer class="site-footer"><div class="footer-links"><ul>'
        + links(rng.sample(FOOTER, 12), href="/info/")
        + "</ul></div><p>&copy; 2026 Example Media Group. All rights reserved. Registered in "
        "England and Wales, company number 01234567.</p></footer>"
    )


def mega_menu(rng: random.Random) -> str:
    """A site header with a logo, a search box and a sections menu."""
    return (
        '<header class="site-header"><a class="logo" href="/">The Daily Example</a>'
        '<form class="search" role="search"><input name="q" placeholder="Search"></form>'
        '<a href="/subscribe" class="btn">Subscribe</a> <a href="/login">Sign in</a>'
        '<nav class="main-nav"><ul>' + links(SECTIONS, href="/section/") + "</ul></nav></header>"
    )
