"""When a failed HTTP call to a model server may pass on a later try, and how long to wait.

Provider-neutral and free of httpx, so the chat models, the embeddings client
and any further provider share one policy (DESIGN *The wider LLM protocol*):

- 408, 409, 429 and 5xx are retried, other 4xx are permanent;
- a 429 whose error code says the quota is spent (``insufficient_quota``) is permanent;
- a 5xx whose body says the request itself is unsupported (llama.cpp's 500
  "Cannot use tools with stream") is permanent: the same request fails again;
- the server's ``x-should-retry: true|false`` overrides the status;
- the wait is ``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date),
  else exponential backoff with jitter;
- a refused connection to a loopback address is not retried (nothing listens there).

:func:`with_retries` is the loop itself, for any async client: an attempt raises
:class:`Retryable` for what may pass later and :class:`autoplug.ModelError` for
what cannot.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from autoplug import ModelError, safejson

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429})

#: Error codes (``error.code`` / ``error.type``) that mean no retry can succeed.
QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"}
)

# A server error whose text blames the request, not the server's state.
_UNSUPPORTED = re.compile(
    r"\b(cannot use|can ?not be used|not supported|unsupported|does not support|"
    r"doesn't support|not implemented)\b",
    re.IGNORECASE,
)


def _flat(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def wait_from_headers(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, else ``Retry-After``; None when neither."""
    headers = {k.lower(): v for k, v in headers.items()}  # a plain dict is case-sensitive
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis)
        except ValueError:
            value = float("nan")
        if value == value and value >= 0:
            return value / 1000
    return retry_after_seconds(headers.get("retry-after"))


def _error_object(body: str) -> Any:
    """The ``error`` part of an error body: OpenAI's object, or Gemini's ``[{"error": ...}]``."""
    try:
        data = safejson.loads_envelope(body)
    except ValueError:
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    return data.get("error", data.get("detail", data.get("message")))


def server_message(body: str) -> str:
    """The error text a server put in its body (``error.message``), on one line, shortened."""
    error = _error_object(body)
    if isinstance(error, dict):
        error = error.get("message") or error
    if error:
        return _flat(str(error))
    return _flat(body) if body.strip() else "(empty body)"


def error_codes(body: str) -> set[str]:
    """The ``code``, ``type`` and ``status`` strings of an error body, lower-cased."""
    error = _error_object(body)
    if not isinstance(error, dict):
        return set()
    return {str(error[k]).lower() for k in ("code", "type", "status") if error.get(k)}


@dataclass(frozen=True)
class Verdict:
    """What to do about one failed HTTP answer: ``retry`` or not, after ``wait`` seconds.

    ``wait`` is the server's (None: use backoff); ``label`` names the failure for
    messages (``rate limited``, ``server error``, ``quota spent``, ...).
    """

    retry: bool
    wait: float | None
    label: str


def classify(status: int, headers: Mapping[str, str], body: str) -> Verdict:
    """The retry verdict for an HTTP ``status`` with its ``headers`` and ``body``."""
    headers = {k.lower(): v for k, v in headers.items()}
    wait = wait_from_headers(headers)
    if status == 429 and error_codes(body) & QUOTA_CODES:
        return Verdict(False, None, "quota spent")
    if status == 429:
        verdict = Verdict(True, wait, "rate limited")
    elif status >= 500 and (status == 501 or _UNSUPPORTED.search(server_message(body))):
        verdict = Verdict(False, None, "request not supported by the server")
    elif status >= 500:
        verdict = Verdict(True, wait, "server error")
    elif status in RETRYABLE_STATUS:
        verdict = Verdict(True, wait, "request timeout" if status == 408 else "conflict")
    else:
        verdict = Verdict(False, None, "rejected")
    should = (headers.get("x-should-retry") or "").strip().lower()
    if should in ("true", "false"):
        verdict = Verdict(should == "true", wait if should == "true" else None, verdict.label)
    return verdict


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def backoff(attempt: int, first: float, ceiling: float) -> float:
    """The wait before retry ``attempt`` (from 0): exponential, with "equal jitter".

    Between half and all of ``min(ceiling, first * 2**attempt)``, so concurrent
    clients do not retry in step.
    """
    top = min(ceiling, first * 2**attempt)
    return top / 2 + random.uniform(0, top / 2)


@dataclass
class CallStats:
    """What a client did: HTTP attempts, retries, and each wait before a retry (seconds)."""

    requests: int = 0
    retries: int = 0
    waits: list[float] = field(default_factory=list)


class Retryable(Exception):
    """Raised by one attempt whose failure may pass on a later try.

    ``error`` is what to report if no try passes; ``wait`` is the server's wait
    in seconds (None: back off).
    """

    def __init__(self, error: ModelError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error, self.wait = error, wait


class RetrySettings(Protocol):
    """How patiently to retry (a provider's settings, e.g. ``ProviderSettings``)."""

    max_retries: int
    backoff_s: float
    max_backoff_s: float
    max_retry_wait_s: float
    where: str


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    settings: RetrySettings,
    stats: CallStats,
    *,
    may_retry: Callable[[], bool] = lambda: True,
) -> T:
    """``attempt()`` until it returns, retrying each :class:`Retryable` as the settings allow.

    ``may_retry`` says whether a retry is still possible (not once streamed text
    has reached the caller: it would repeat). Raises the last error as a
    retryable ModelError naming the attempts, or at once when the server's wait
    is longer than ``max_retry_wait_s``.
    """
    tries = 0
    while True:
        try:
            return await attempt()
        except Retryable as retry:
            if tries >= settings.max_retries or not may_retry():
                count = f"{tries + 1} attempt" + ("s" if tries else "")
                raise ModelError(f"{retry.error} (after {count})", retryable=True) from None
            wait = retry.wait
            if wait is None:
                wait = backoff(tries, settings.backoff_s, settings.max_backoff_s)
            if wait > settings.max_retry_wait_s:
                raise ModelError(
                    f"{retry.error}; the server asks to wait {wait:g} s, more than "
                    f"max_retry_wait_s = {settings.max_retry_wait_s:g} ({settings.where})",
                    retryable=True,
                ) from None
            stats.retries += 1
            stats.waits.append(wait)
            await asyncio.sleep(wait)
            tries += 1
