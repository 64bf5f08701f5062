"""Turning a fetched body into text a model can read.

HTML goes through BeautifulSoup (the stdlib ``html.parser`` backend, so no C
extension is needed): the title, the main text without scripts, styles,
navigation and page chrome, and the links as absolute URLs. Other text types
are decoded as they are. Everything else is binary and refused by the caller.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

Kind = Literal["html", "text", "binary", "unknown"]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_APPLICATION_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-javascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/sql",
        "application/x-sh",
        "application/x-ndjson",
        "application/csv",
        "application/x-www-form-urlencoded",
    }
)

# Removed everywhere: never readable content.
NEVER_TEXT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed")
# Removed from the text: site chrome. (header and footer only outside an article or main,
# where they are the article's own heading and byline.)
CHROME = ("nav", "aside")
SECTION_CHROME = ("header", "footer")
BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "hr",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tr",
        "ul",
    }
)
HEADINGS = {f"h{level}": level for level in range(1, 7)}
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:")


def content_kind(media_type: str) -> Kind:
    """How a media type (lower case, no parameters) is read; ``unknown`` when it is empty."""
    if not media_type:
        return "unknown"
    if media_type in HTML_TYPES:
        return "html"
    if media_type.startswith("text/") or media_type in TEXT_APPLICATION_TYPES:
        return "text"
    if media_type.endswith(("+json", "+xml", "+yaml")):
        return "text"
    return "binary"


def sniff_kind(body: bytes) -> Kind:
    """Guess the kind of a body served without a content type."""
    head = body[:2048]
    if b"\x00" in head:
        return "binary"
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    try:
        # A body cut at the byte cap may end inside a character: judge the head only.
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return "binary"
    return "text"


def decode_text(body: bytes, charset: str | None) -> str:
    """``body`` decoded with ``charset`` (UTF-8 when absent or unknown), bad bytes replaced."""
    encoding = charset or "utf-8-sig"
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:
        return body.decode("utf-8-sig", errors="replace")


def tidy(text: str) -> str:
    """Whitespace runs collapsed within lines; empty lines and lone list markers dropped."""
    lines: list[str] = []
    pending_marker = ""
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if line == "-":
            # A list item whose content starts with a block: join the marker to it.
            pending_marker = "- "
            continue
        lines.append(pending_marker + line)
        pending_marker = ""
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _inside(tag: Any, names: tuple[str, ...]) -> bool:
    return any(parent.name in names for parent in tag.parents)


def link_entries(soup: Any, base_url: str) -> list[tuple[Any, dict[str, str]]]:
    """Every distinct http(s) link of the page as ``(anchor, {text, url})``, absolute."""
    entries: list[tuple[Any, dict[str, str]]] = []
    seen: set[str] = set()
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        url = urldefrag(urljoin(base_url, href)).url
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        if _inside(anchor, NEVER_TEXT):
            continue
        seen.add(url)
        text = _one_line(anchor.get_text(" ")) or _one_line(str(anchor.get("title", "")))
        entries.append((anchor, {"text": text, "url": url}))
    return entries


def extract_links(soup: Any, base_url: str, limit: int) -> list[dict[str, str]]:
    """Up to ``limit`` distinct http(s) links of the page as ``{text, url}``, absolute."""
    return [link for _, link in link_entries(soup, base_url)[:limit]]


def _flatten(text: str) -> str:
    """Source whitespace (newlines included) as single spaces, a space kept at either end."""
    flat = " ".join(text.split())
    if not flat:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + flat + (" " if text[-1].isspace() else "")


def _skipped(tag: Any, in_section: bool) -> bool:
    name = tag.name
    if name in NEVER_TEXT or name in CHROME or name in ("head", "title"):
        return True
    if name in SECTION_CHROME and not in_section:
        return True
    return tag.has_attr("hidden")


def render_text(root: Any, in_section: bool = False) -> str:
    """The readable text under ``root``: chrome skipped, one line per block, tidied.

    ``in_section`` says that ``root`` is article content, where ``header`` and
    ``footer`` are the article's own (kept) rather than the site's (skipped).

    A walk that builds the text without changing the tree (inserting markers
    into a big tree costs time quadratic in the number of siblings). Line breaks
    in the HTML source are only whitespace, so they are flattened outside ``pre``;
    the breaks in the result come from the block elements.
    """
    from bs4 import NavigableString, Tag

    pieces: list[str] = []
    # Entries: (node, inside pre, inside article or main), or a string to emit
    # once a tag's children are done.
    stack: list[Any] = [(root, False, in_section)]
    while stack:
        entry = stack.pop()
        if isinstance(entry, str):
            pieces.append(entry)
            continue
        node, in_pre, in_section = entry
        if isinstance(node, NavigableString):
            # Exact type: comments, CDATA and doctypes are subclasses, not text.
            if type(node) is NavigableString:
                pieces.append(str(node) if in_pre else _flatten(node))
            continue
        if not isinstance(node, Tag) or _skipped(node, in_section):
            continue
        name = node.name
        if name == "br":
            pieces.append("\n")
            continue
        if name in HEADINGS:
            opener, closer = "\n" + "#" * HEADINGS[name] + " ", "\n"
        elif name == "li":
            opener, closer = "\n- ", "\n"
        elif name in ("td", "th"):
            opener, closer = "", " "
        elif name in BLOCKS:
            opener, closer = "\n", "\n"
        else:
            opener, closer = "", ""
        pieces.append(opener)
        stack.append(closer)
        in_pre = in_pre or name == "pre"
        in_section = in_section or name in ("article", "main")
        stack.extend((child, in_pre, in_section) for child in reversed(node.contents))
    return tidy("".join(pieces))


def read_html(
    body: bytes, charset: str | None, base_url: str, max_links: int
) -> tuple[str | None, str, list[dict[str, str]]]:
    """``(title, text, links)`` of an HTML page fetched from ``base_url``.

    The text is the page's main text as ``extract`` finds it, with the headline
    first; a page where nothing reads as main text gives its whole text, chrome
    left out. Links: those of the main text first, then the rest of the page.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser", from_encoding=charset)
    title = _one_line(soup.title.get_text(" ")) if soup.title else ""
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base_url = urljoin(base_url, str(base_tag["href"]).strip())
    # Links come from the whole page, navigation included: that is how an agent moves on.
    entries = link_entries(soup, base_url)
    text, content = main_text(soup, title)
    if not text:
        # Everything was pruned as chrome: read the page as it came, main or body.
        soup = BeautifulSoup(body, "html.parser", from_encoding=charset)
        text, content = render_text(soup.find("main") or soup.body or soup), []
    inside = {id(a) for node in content for a in node.find_all("a", href=True)}
    first = [link for anchor, link in entries if id(anchor) in inside]
    rest = [link for anchor, link in entries if id(anchor) not in inside]
    return title or None, text, (first + rest)[:max_links]


def main_text(soup: Any, title: str) -> tuple[str, list[Any]]:
    """The main text of ``soup`` (pruned in place) and the elements it was read from."""
    from .extract import choose, clean, headline, measure, prune

    head = headline(soup, title)
    head_text = _one_line(head.get_text(" ")) if head is not None else ""
    root = soup.body or soup
    prune(root)
    content = choose(root)
    if not content:
        return render_text(root), [root]
    for node in content:
        clean(node, measure(node))
    text = tidy("\n".join(render_text(node, in_section=True) for node in content))
    if head_text and head_text not in _one_line(text[: len(head_text) * 4 + 200]):
        text = f"# {head_text}\n{text}"
    return text, content
