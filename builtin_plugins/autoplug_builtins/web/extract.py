"""Finding a page's main text: a readability-style scorer over a BeautifulSoup tree.

Semantic tags alone do not find the article: real pages put ad slots in a
``<main>``, comment threads inside the article's ``<main>``, and plenty of
sites use nothing but ``<div>``s. So, as a reader's eye does:

1. **Prune** what is never the main text: hidden elements, forms, ``nav`` and
   ``aside``, ARIA landmarks of page chrome, and elements whose class or id
   names chrome (comments, cookie banners, share bars, sidebars, related
   lists, ad slots, bylines...). A class match is not trusted on an element
   that holds a lot of unlinked prose (a page builder's ``widget`` wrapping the
   article), except for comment threads and consent banners.
2. **Score** each paragraph (a ``p``, a block with no block inside, or a run of
   bare text) by its length and commas, and credit its parent fully, its
   grandparent half and the next ancestor a sixth; a container's score is then
   scaled down by its link density, so menus and link lists lose.
3. **Choose** the best container. When several similar containers (the posts
   of a forum thread, the answers of a Q&A page) share an ancestor, take that
   ancestor; siblings that score well or read as prose come along.
4. **Clean** the chosen content of link-dense blocks (inline "read more" boxes,
   tag lists), and put the headline back when it sat outside the content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A match on these removes the element whatever it holds.
ALWAYS_CHROME = re.compile(r"comment|disqus|(?<![a-z])respond(?![a-z])|cookie|consent|gdpr", re.I)
# Substrings of a class or id that name page chrome.
CHROME_WORDS = re.compile(
    r"sidebar|share|sharing|social|newsletter|subscribe|signup|related|breadcrumb|crumbs|"
    r"pagination|pager|advert|sponsor|promo|popup|modal|outbrain|taboola|widget|trending|"
    r"popular|most-?read|recommend|read-?more|more-?from|more-?topics|suggested|skip|"
    r"screen-reader|signature|postprofile|jumpbox|online-list|navbar|navigation|topbar|top-bar|"
    r"masthead|footer|announcement|feedback|byline|author|tableofcontents|table-of-contents|"
    r"copyright|leaderboard|searchbox|avatar|back2top|back-link|ad-slot|adslot|ad-container|"
    r"-ad-|post-buttons|post-menu|post-controls|edit-this|userinfo|user-info|usertitle",
    re.I,
)
# Whole words of a class or id (split at -, _ and case changes) that name chrome.
CHROME_TOKENS = frozenset(
    "nav ad ads toc meta tools vote header menu tags tag taglist kicker date dateline login "
    "search button btn badge teaser print contact rss banner profile".split()
)
CHROME_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog"}
)
POSITIVE = re.compile(
    r"article|body|content|entry|hentry|main|page|post|text|blog|story|prose", re.I
)
NEGATIVE = re.compile(
    r"comment|meta|footer|footnote|masthead|media|outbrain|promo|related|scroll|share|sidebar|"
    r"sponsor|shopping|tags|tool|widget|banner|-ad-|hidden",
    re.I,
)
# Removed outright: never the main text.
PRUNED_TAGS = frozenset(
    {"nav", "aside", "form", "button", "select", "input", "textarea", "label", "dialog", "menu"}
)
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip
CONTAINER_TAGS = frozenset({"div", "section", "ul", "ol", "table", "dl", "article"})
TAG_BASE = {"div": 5, "article": 5, "section": 3, "pre": 3, "td": 3, "blockquote": 3}
TAG_BASE.update(dict.fromkeys(("ol", "ul", "dl", "dd", "dt", "li", "address", "form"), -3))
TAG_BASE.update(dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6", "th"), -5))
MIN_PARAGRAPH = 25
# Prose this long, little of it linked, is not chrome whatever its class says.
RICH_TEXT = 800
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


@dataclass
class Stats:
    """Text and link-text lengths of every element, by ``id()``."""

    text: dict[int, int] = field(default_factory=dict)
    links: dict[int, int] = field(default_factory=dict)

    def density(self, tag: Any) -> float:
        total = self.text.get(id(tag), 0)
        return self.links.get(id(tag), 0) / total if total else 0.0


def measure(root: Any) -> Stats:
    """Text and link-text lengths (whitespace collapsed) of every element under ``root``."""
    from bs4 import NavigableString, Tag

    stats = Stats()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in node.contents if isinstance(child, Tag))
            continue
        text = links = 0
        for child in node.contents:
            if isinstance(child, Tag):
                text += stats.text[id(child)]
                links += stats.links[id(child)]
            elif type(child) is NavigableString:
                text += len(" ".join(child.split()))
        stats.text[id(node)] = text
        stats.links[id(node)] = text if node.name == "a" else links
    return stats


# Class names that state what an element has or is ("has-sidebar", "with-comments",
# "no-js", "comments-open"), not what it is: a post with a profile box is still a post.
MODIFIER = re.compile(
    r"^(?:has|with|is|no|show|hide)[-_]|[-_](?:open|closed|enabled|disabled|allowed)$", re.I
)


# Attributes that name a component where sites use no class for it.
NAMING_ATTRIBUTES = ("id", "data-component", "data-testid", "data-e2e", "data-module")


def _names(tag: Any) -> str:
    classes = [name for name in tag.get("class") or [] if not MODIFIER.search(name)]
    return " ".join([*classes, *(str(tag.get(a) or "") for a in NAMING_ATTRIBUTES)]).strip()


def _tokens(names: str) -> set[str]:
    return {t.lower() for t in _SPLIT.split(_CAMEL.sub(" ", names)) if t}


def _hidden(tag: Any) -> bool:
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    style = str(tag.get("style", "")).replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _is_chrome(tag: Any, stats: Stats) -> bool:
    if tag.name in PRUNED_TAGS or _hidden(tag):
        return True
    if tag.name in ("header", "footer") and not any(
        parent.name in ("article", "main") for parent in tag.parents
    ):
        # Site chrome, unless it is the header that holds the headline.
        return tag.name == "footer" or tag.find("h1") is None
    if tag.name in ("body", "html", "main", "article") and not tag.get("class"):
        return False
    names = _names(tag)
    if names and ALWAYS_CHROME.search(names) and tag.find("h1") is None:
        return True
    role = str(tag.get("role", "")).lower()
    named = bool(names) and (
        CHROME_WORDS.search(names) is not None or not CHROME_TOKENS.isdisjoint(_tokens(names))
    )
    if not named and role not in CHROME_ROLES:
        return False
    if tag.name in ("body", "html") or tag.find("h1") is not None:
        return False
    unlinked = stats.text.get(id(tag), 0) - stats.links.get(id(tag), 0)
    return not (unlinked >= RICH_TEXT and stats.density(tag) < 0.3)


def prune(root: Any) -> None:
    """Remove the page chrome under ``root`` (in place)."""
    from bs4 import Tag

    stats = measure(root)
    stack = [child for child in root.contents if isinstance(child, Tag)]
    while stack:
        tag = stack.pop()
        if _is_chrome(tag, stats):
            tag.extract()
        else:
            stack.extend(child for child in tag.contents if isinstance(child, Tag))


def class_weight(tag: Any) -> int:
    """+25 for a class (and for an id) that names content, -25 for one that names chrome."""
    weight = 0
    for value in (" ".join(tag.get("class") or []), str(tag.get("id") or "")):
        if value:
            weight += 25 if POSITIVE.search(value) else 0
            weight -= 25 if NEGATIVE.search(value) else 0
    return weight


def _paragraph_score(text: str) -> float:
    return 1 + text.count(",") + min(len(text) / 100, 3)


def score(root: Any) -> dict[int, tuple[Any, float]]:
    """Each candidate container under ``root`` with its score (``id() -> (tag, score)``)."""
    from bs4 import NavigableString, Tag

    scores: dict[int, list[Any]] = {}

    def credit(tag: Any, points: float) -> None:
        level = 0
        while tag is not None and tag.name not in ("[document]", "html") and level < 3:
            entry = scores.get(id(tag))
            if entry is None:
                entry = scores[id(tag)] = [tag, TAG_BASE.get(tag.name, 0) + class_weight(tag)]
            entry[1] += points / (1, 2, 6)[level]
            tag, level = tag.parent, level + 1

    stack = [root]
    while stack:
        node = stack.pop()
        blocks = [c for c in node.contents if isinstance(c, Tag) and c.name in BLOCK_TAGS]
        if not blocks or node.name == "p":
            text = " ".join(node.get_text(" ").split())
            if len(text) >= MIN_PARAGRAPH and node is not root:
                credit(node.parent, _paragraph_score(text))
            continue
        run: list[str] = []
        for child in [*node.contents, None]:
            if child is None or (isinstance(child, Tag) and child.name in BLOCK_TAGS):
                text = " ".join(" ".join(run).split())
                if len(text) >= MIN_PARAGRAPH:
                    credit(node, _paragraph_score(text))
                run = []
                if child is not None:
                    stack.append(child)
            elif isinstance(child, Tag):
                run.append(child.get_text(" "))
            elif type(child) is NavigableString:
                run.append(str(child))
    return {key: (tag, points) for key, (tag, points) in scores.items()}


def _ancestors(tag: Any) -> list[Any]:
    return [p for p in tag.parents if p.name not in ("[document]",)]


def _lineage(tag: Any) -> set[int]:
    # By identity: Tag's == compares whole subtrees, slow and wrong for look-alikes.
    return {id(p) for p in tag.parents}


def choose(root: Any) -> list[Any]:
    """The elements holding the main text, in document order; empty when none scores."""
    scores = score(root)
    if not scores:
        return []
    stats = measure(root)
    final = {key: (tag, s * (1 - stats.density(tag))) for key, (tag, s) in scores.items()}
    ranked = sorted(final.values(), key=lambda pair: pair[1], reverse=True)
    top, top_score = ranked[0]
    if top_score <= 0:
        return []
    # Other containers nearly as good as the top one, none inside another: the
    # posts of a thread, the answers beside a question.
    alternatives: list[Any] = [top]
    for tag, points in ranked[1:]:
        if points < 0.75 * top_score or len(alternatives) > 5:
            break
        lineage = _lineage(tag)
        if not any(id(alt) in lineage or id(tag) in _lineage(alt) for alt in alternatives):
            alternatives.append(tag)
    alternatives = alternatives[1:]
    if len(alternatives) >= 2:
        for ancestor in _ancestors(top):
            if ancestor.name == "html":
                break
            inside = sum(1 for alt in alternatives if id(ancestor) in _lineage(alt))
            if inside >= 2:
                # The ancestor gathers the similar blocks; its siblings are the page's.
                return [ancestor]
    parent = top.parent
    if parent is None or top.name == "body":
        return [top]
    threshold = max(10.0, top_score * 0.2)
    chosen = []
    for sibling in parent.contents:
        if sibling is top:
            chosen.append(sibling)
        elif getattr(sibling, "name", None) and _joins(sibling, final, stats, threshold):
            chosen.append(sibling)
    return chosen


def _joins(
    sibling: Any, final: dict[int, tuple[Any, float]], stats: Stats, threshold: float
) -> bool:
    if final.get(id(sibling), (None, 0.0))[1] >= threshold:
        return True
    if sibling.name != "p":
        return False
    length, density = stats.text.get(id(sibling), 0), stats.density(sibling)
    if length > 80:
        return density < 0.25
    text = sibling.get_text(" ")
    return 0 < length and density == 0 and re.search(r"\.( |$)", text) is not None


def clean(content: Any, stats: Stats) -> None:
    """Remove link-dense blocks (inline related boxes, tag lists) from chosen content."""
    from bs4 import Tag

    stack = [child for child in content.contents if isinstance(child, Tag)]
    while stack:
        tag = stack.pop()
        if tag.name in CONTAINER_TAGS:
            density = stats.density(tag)
            length = stats.text.get(id(tag), 0)
            if density > 0.5 or (density > 0.33 and length < 300):
                tag.extract()
                continue
        stack.extend(child for child in tag.contents if isinstance(child, Tag))


TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|\u2013|\u2014|::|\u00b7)\s+")


def headline(soup: Any, title: str) -> Any:
    """The ``h1`` that best matches the page title (the only one when there is one).

    A page without ``h1`` may still show its headline in some other element:
    the one whose whole text is the title without the site name.
    """
    heads = soup.find_all("h1")
    if len(heads) == 1:
        return heads[0]
    if not heads:
        parts = [p for p in TITLE_SEPARATORS.split(title) if len(p) >= 15]
        if not parts:
            return None
        wanted = parts[0]
        for string in soup.find_all(string=True):
            parent = string.parent
            if parent is not None and parent.name != "title" and " ".join(string.split()) == wanted:
                return parent
        return None
    wanted = set(title.lower().split())
    return max(heads, key=lambda h: len(wanted & set(h.get_text(" ").lower().split())))
