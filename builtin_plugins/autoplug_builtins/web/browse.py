"""``browse_url``'s work: fetch a URL, then read it as HTML or text."""

from __future__ import annotations

from typing import Any

from .addresses import WebError
from .fetch import fetch
from .readable import content_kind, decode_text, read_html, sniff_kind
from .settings import WebSettings

MAX_LINKS = 100
CUT_NOTE = "\n[{cut:,} more characters not shown: call again with a larger max_chars to read them]"


async def browse(url: str, max_chars: int, settings: WebSettings) -> dict[str, Any]:
    """The page at ``url`` as ``{url, final_url, status, content_type, title, text, links,
    truncated}``; raises WebError naming the URL and the fault.

    ``truncated`` is true when the body passed ``[web] max_bytes`` or the text
    passed ``max_chars`` (see ``clip``).
    """
    page = await fetch(url, settings)
    kind = content_kind(page.media_type)
    if kind == "unknown":
        kind = sniff_kind(page.body)
        if kind == "binary":
            raise WebError(
                f"{page.final_url}: refused a body with no content type that looks binary: "
                "browse_url reads HTML and text, not binary files"
            )
    title: str | None = None
    links: list[dict[str, str]] = []
    if kind == "html":
        title, text, links = read_html(page.body, page.charset, page.final_url, MAX_LINKS)
    else:
        text = decode_text(page.body, page.charset)
    truncated = page.truncated or len(text) > max_chars
    text = clip(text, max_chars)
    return {
        "url": url,
        "final_url": page.final_url,
        "status": page.status,
        "content_type": page.media_type or None,
        "title": title,
        "text": text,
        "links": links,
        "truncated": truncated,
    }


def clip(text: str, max_chars: int) -> str:
    """``text`` in at most ``max_chars`` characters, saying how much was cut.

    The main text comes first, so the cut drops its end: at a line break (a
    block's end) when one is in the second half of the room, else after a
    sentence or a word. A note with the number of characters cut ends the text
    when it takes less than half of ``max_chars``; otherwise the cut is bare.
    """
    if len(text) <= max_chars:
        return text
    room = max_chars - len(CUT_NOTE.format(cut=len(text)))
    if room < max_chars // 2:
        return text[:max_chars]
    kept = text[:room]
    for boundary in ("\n", ". ", " "):
        at = kept.rfind(boundary)
        if at >= room // 2:
            kept = kept[: at + (1 if boundary == ". " else 0)]
            break
    return kept.rstrip() + CUT_NOTE.format(cut=len(text) - len(kept.rstrip()))
