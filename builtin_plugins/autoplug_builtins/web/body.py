"""Reading a response body under a byte cap, decompressing it ourselves.

httpx would decompress a whole network chunk at once, so a small gzip "bomb"
could expand far past the cap before the reader could stop. Here the raw bytes
are decompressed with ``zlib`` asking for no more output than the cap still
allows, so the cap bounds memory whatever the server sends.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .addresses import WebError

if TYPE_CHECKING:
    import httpx

# What the web tools send as Accept-Encoding: the encodings decoded below.
ACCEPT_ENCODING = "gzip, deflate"


def decoder_for(encoding: str, where: str) -> Callable[[bytes, int], bytes]:
    """A function ``(raw, limit) -> at most limit decoded bytes`` for a Content-Encoding.

    Raises WebError naming ``where`` for an encoding it cannot decode.
    """
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda raw, limit: raw[:limit]
    if name in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif name == "deflate":
        inflater = zlib.decompressobj()
    else:
        raise WebError(
            f"{where}: the server sent content encoding {encoding!r}, which is not supported "
            f"(asked for {ACCEPT_ENCODING})"
        )

    def inflate(raw: bytes, limit: int) -> bytes:
        # Input beyond what ``limit`` allows stays in unconsumed_tail and is never
        # expanded: reading stops as soon as the cap is passed.
        try:
            return inflater.decompress(raw, limit)
        except zlib.error as exc:
            raise WebError(f"{where}: the {name} body is corrupt: {exc}") from None

    return inflate


async def read_capped(response: httpx.Response, max_bytes: int, where: str) -> tuple[bytes, bool]:
    """The decoded body, never more than ``max_bytes`` of it; ``(body, truncated)``.

    At most one decoded byte past the cap is produced (to know that there was
    more); closing the response afterwards drops the rest unread.
    """
    decode = decoder_for(response.headers.get("content-encoding", ""), where)
    body = bytearray()
    async for raw in response.aiter_raw():
        body += decode(raw, max_bytes + 1 - len(body))
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False
