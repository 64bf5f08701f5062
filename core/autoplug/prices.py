"""What a model costs: ``[prices."ID"]`` in the config, else the ``genai-prices`` package.

``genai-prices`` is imported only when a price is first looked up, and only its
bundled data is used: it is never asked to update itself over the network, so a
price is the one of the installed version (``pip install -U genai-prices``
refreshes them). Which of its providers prices ``PROVIDER:MODEL``:

1. ``price_provider`` in ``[providers.PROVIDER]``, when set;
2. else ``PROVIDER`` itself, when genai-prices knows a provider of that name
   (``openai``, ``deepseek``, ``groq``, ``openrouter``, ``gemini``, ...);
3. else the provider's ``base_url`` matched against genai-prices' API addresses.

A local server (``ollama``, vLLM on localhost) matches none: it has no price
unless ``[prices]`` gives one. Scripted and replayed models cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .llm import Usage

#: Providers whose models never call a paid API.
OFFLINE_PROVIDERS = ("scripted", "replay")


@dataclass(frozen=True)
class Price:
    """USD per million tokens, and where the figures came from (``source``).

    ``cached_input_per_mtok`` is None when the source gives no cache price (cached
    input then costs what input does). ``tiers`` says whether the source's price
    rises above some prompt size (the figures shown are the base ones; the cost
    applies the tiers).
    """

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    source: str
    tiers: bool = False
    _model_price: Any = None

    def cost(self, usage: Usage) -> float:
        """The USD cost of ``usage`` at this price."""
        if self._model_price is not None:
            from genai_prices import Usage as GenaiUsage

            counted = GenaiUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cached_input_tokens,
            )
            return float(self._model_price.calc_price(counted)["total_price"])
        cached_rate = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        uncached = usage.input_tokens - usage.cached_input_tokens
        return (
            uncached * self.input_per_mtok
            + usage.cached_input_tokens * cached_rate
            + usage.output_tokens * self.output_per_mtok
        ) / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the three rates and ``source``."""
        return {
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "cached_input_per_mtok": self.cached_input_per_mtok,
            "source": self.source,
        }


def config_price(model_id: str, table: dict[str, Any]) -> Price:
    """The price a ``[prices."ID"]`` table gives (a missing input or output rate is 0)."""
    cached = table.get("cached_input_per_mtok")
    return Price(
        float(table.get("input_per_mtok", 0)),
        float(table.get("output_per_mtok", 0)),
        None if cached is None else float(cached),
        f'config [prices."{model_id}"]',
    )


def _rate(value: Any) -> tuple[float | None, bool]:
    """A genai-prices rate as a float (a tiered one by its base), and whether it is tiered."""
    if value is None:
        return None, False
    base = getattr(value, "base", None)
    return (float(base), True) if base is not None else (float(value), False)


def genai_price(model_name: str, *, provider: str | None, api_url: str | None) -> Price | None:
    """The bundled genai-prices price of ``model_name`` at a provider id or API URL, or None."""
    try:
        from genai_prices import Usage as GenaiUsage
        from genai_prices import __version__, calc_price
    except ImportError:  # a dependency, but a broken install must not break runs
        return None
    zero = GenaiUsage(input_tokens=0, output_tokens=0)
    try:
        if provider is not None:
            found = calc_price(zero, model_name, provider_id=provider)
        elif api_url is not None:
            found = calc_price(zero, model_name, provider_api_url=api_url)
        else:
            return None
    except (LookupError, ValueError):
        return None
    model_price = found.model_price
    rates = [_rate(getattr(model_price, k, None)) for k in ("input_mtok", "output_mtok")]
    cached, cached_tiers = _rate(getattr(model_price, "cache_read_mtok", None))
    if rates[0][0] is None and rates[1][0] is None:
        return None
    return Price(
        rates[0][0] or 0.0,
        rates[1][0] or 0.0,
        cached,
        f"genai-prices {__version__} ({found.provider.id} {found.model.id})",
        tiers=rates[0][1] or rates[1][1] or cached_tiers,
        _model_price=model_price,
    )


def _known_provider(name: str) -> bool:
    try:
        from genai_prices.data_snapshot import find_provider_by_id, get_snapshot
    except ImportError:
        return False
    return find_provider_by_id(get_snapshot().providers, name) is not None


def find_price(model_id: str, config: Any) -> Price | None:
    """The price of ``model_id``: ``[prices."ID"]``, else genai-prices; None when it has none."""
    table = config.price(model_id) if config is not None else None
    if table is not None:
        return config_price(model_id, table)
    provider, _, model_name = model_id.partition(":")
    if provider in OFFLINE_PROVIDERS:
        return Price(0.0, 0.0, 0.0, "offline model: no cost")
    if not model_name:
        return None
    settings = config.provider(provider) if config is not None else {}
    named = settings.get("price_provider")
    if isinstance(named, str) and named:
        return genai_price(model_name, provider=named, api_url=None)
    if _known_provider(provider):
        return genai_price(model_name, provider=provider, api_url=None)
    base_url = settings.get("base_url")
    if isinstance(base_url, str) and base_url:
        return genai_price(model_name, provider=None, api_url=base_url)
    return None


def how_to_price(model_id: str, config: Any) -> str:
    """What to write in the config to give ``model_id`` a price (for error messages)."""
    where = getattr(config, "path", "config.toml")
    provider = model_id.partition(":")[0]
    return (
        f'add [prices."{model_id}"] with input_per_mtok and output_per_mtok (USD per million '
        f"tokens) to {where}, or name the genai-prices provider that prices it with "
        f'price_provider = "..." in [providers.{provider}]'
    )
