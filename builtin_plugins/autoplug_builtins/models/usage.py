"""Token usage from every shape providers report it in.

Provider-neutral: OpenAI's chat completions (``prompt_tokens``,
``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.reasoning_tokens``),
DeepSeek (``prompt_cache_hit_tokens``), Moonshot/Kimi (``cached_tokens``), and the
``input_tokens`` shapes of OpenAI's Responses API and Anthropic's Messages API
(``cache_read_input_tokens``, ``cache_creation_input_tokens``, which Anthropic
counts apart from ``input_tokens``). The result keeps autoplug's meaning:
``input_tokens`` counts all input, the cached part is a subset of it and the
reasoning part a subset of the output.
"""

from __future__ import annotations

from typing import Any

from autoplug.llm import Usage


def _count(data: Any, *path: str) -> int:
    """A non-negative whole number at ``path`` in nested dicts, else 0."""
    for key in path:
        if not isinstance(data, dict):
            return 0
        data = data.get(key)
    if isinstance(data, bool) or not isinstance(data, int | float) or data != data:
        return 0
    return max(0, int(data))


def usage_from(data: Any) -> Usage | None:
    """The :class:`Usage` in a provider's ``usage`` object, or None when there is none."""
    if not isinstance(data, dict):
        return None
    if "prompt_tokens" in data or "completion_tokens" in data:
        input_tokens = _count(data, "prompt_tokens")
        output_tokens = _count(data, "completion_tokens")
    elif "input_tokens" in data or "output_tokens" in data:
        # Anthropic counts cache reads and writes apart from input_tokens; OpenAI's
        # Responses API does not send those keys, so adding them is right for both.
        input_tokens = (
            _count(data, "input_tokens")
            + _count(data, "cache_read_input_tokens")
            + _count(data, "cache_creation_input_tokens")
        )
        output_tokens = _count(data, "output_tokens")
    else:
        return None
    cached = max(
        _count(data, "prompt_tokens_details", "cached_tokens"),
        _count(data, "input_tokens_details", "cached_tokens"),
        _count(data, "prompt_cache_hit_tokens"),
        _count(data, "cached_tokens"),
        _count(data, "cache_read_input_tokens"),
    )
    reasoning = max(
        _count(data, "completion_tokens_details", "reasoning_tokens"),
        _count(data, "output_tokens_details", "reasoning_tokens"),
        _count(data, "reasoning_tokens"),
    )
    return Usage(
        input_tokens,
        output_tokens,
        cached_input_tokens=min(cached, input_tokens),
        reasoning_tokens=min(reasoning, output_tokens),
    )
