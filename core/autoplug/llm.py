"""The model-provider protocol: requests, responses, model ids, usage and cost.

The kernel knows only these shapes; providers (OpenAI-compatible servers, the
scripted model, record and replay) arrive through the ``register_models`` hook.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import UnknownModelError, did_you_mean


@dataclass(frozen=True)
class FunctionSpec:
    """A function offered to the model: a name, a description, a JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


#: Opaque provider fields by the id of the model that produced them:
#: ``{"deepseek:deepseek-reasoner": {"reasoning_content": "..."}}``.
Extra = dict[str, dict[str, Any]]


def tag_extra(model_id: str, fields: dict[str, Any]) -> Extra:
    """``fields`` tagged with ``model_id`` (empty when there are no fields)."""
    return {model_id: dict(fields)} if fields else {}


def _extra_from(data: Any) -> Extra:
    if not isinstance(data, dict):
        return {}
    return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict) and v}


@dataclass(frozen=True, init=False)  # its own __init__, below
class FunctionCall:
    """A function call in a model's reply; ``arguments`` parsed from JSON.

    ``error`` is set (and ``arguments`` empty) when the model's argument text was
    not a JSON object; ``raw_arguments`` keeps that text. ``extra`` holds
    provider fields of this call that must be sent back to the model that made
    it (Gemini's ``extra_content``), by model id; see :data:`Extra`.
    """

    name: str
    arguments: dict[str, Any]
    id: str | None = None
    raw_arguments: str | None = None
    error: str | None = None
    extra: Extra = field(default_factory=dict)

    def extra_for(self, model_id: str) -> dict[str, Any]:
        """The fields to echo to ``model_id`` (none when another model made this call)."""
        return self.extra.get(model_id, {})

    def __init__(
        self,
        name: str,
        arguments: dict[str, Any],
        id: str | None = None,
        raw_arguments: str | None = None,
        error: str | None = None,
        extra: Extra | None = None,
    ) -> None:
        # Written by hand (init=False): a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, and a turn makes several of these.
        fields = self.__dict__
        fields["name"] = name
        fields["arguments"] = arguments
        fields["id"] = id
        fields["raw_arguments"] = raw_arguments
        fields["error"] = error
        fields["extra"] = {} if extra is None else extra

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; an empty ``extra`` is left out, so older cassettes still match."""
        data = {
            "name": self.name,
            "arguments": self.arguments,
            "id": self.id,
            "raw_arguments": self.raw_arguments,
            "error": self.error,
        }
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionCall:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            arguments=dict(data.get("arguments") or {}),
            id=data.get("id"),
            raw_arguments=data.get("raw_arguments"),
            error=data.get("error"),
            extra=_extra_from(data.get("extra")),
        )


@dataclass(frozen=True, init=False)  # its own __init__, below
class Message:
    """One chat message.

    ``role`` is ``system``, ``user``, ``assistant`` or ``tool``. An assistant
    message may carry ``function_calls``; a ``tool`` message answers one of them
    (``call_id``) with its ``content``. ``extra`` holds provider fields of an
    assistant message that must be sent back to the model that wrote it (a
    reasoning text such as ``reasoning_content``), by model id; see :data:`Extra`.
    """

    role: str
    content: str | None = None
    function_calls: tuple[FunctionCall, ...] = ()
    call_id: str | None = None
    name: str | None = None
    extra: Extra = field(default_factory=dict)

    def extra_for(self, model_id: str) -> dict[str, Any]:
        """The fields to echo to ``model_id`` (none when another model wrote this message)."""
        return self.extra.get(model_id, {})

    def __init__(
        self,
        role: str,
        content: str | None = None,
        function_calls: tuple[FunctionCall, ...] = (),
        call_id: str | None = None,
        name: str | None = None,
        extra: Extra | None = None,
    ) -> None:
        # Written by hand (init=False): a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, and a turn makes several of these.
        fields = self.__dict__
        fields["role"] = role
        fields["content"] = content
        fields["function_calls"] = function_calls
        fields["call_id"] = call_id
        fields["name"] = name
        fields["extra"] = {} if extra is None else extra

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used for hashing and cassettes)."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.function_calls:
            data["function_calls"] = [c.to_dict() for c in self.function_calls]
        if self.call_id is not None:
            data["call_id"] = self.call_id
        if self.name is not None:
            data["name"] = self.name
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Inverse of :meth:`to_dict`."""
        return cls(
            role=data["role"],
            content=data.get("content"),
            function_calls=tuple(FunctionCall.from_dict(c) for c in data.get("function_calls", ())),
            call_id=data.get("call_id"),
            name=data.get("name"),
            extra=_extra_from(data.get("extra")),
        )


@dataclass(frozen=True, init=False)  # its own __init__, below
class Usage:
    """Token counts of one call or a sum of calls.

    ``input_tokens`` counts all input, ``cached_input_tokens`` the part of it read
    from the provider's prompt cache (cache writes are ordinary input), and
    ``reasoning_tokens`` the part of ``output_tokens`` spent thinking.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> None:
        # Written by hand (init=False): a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, and a turn makes several of these.
        fields = self.__dict__
        fields["input_tokens"] = input_tokens
        fields["output_tokens"] = output_tokens
        fields["cached_input_tokens"] = cached_input_tokens
        fields["reasoning_tokens"] = reasoning_tokens

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        made = _new(Usage)  # the fields written straight in, as __init__ writes them
        fields = made.__dict__  # stores cost less than update() with keywords
        fields["input_tokens"] = self.input_tokens + other.input_tokens
        fields["output_tokens"] = self.output_tokens + other.output_tokens
        fields["cached_input_tokens"] = self.cached_input_tokens + other.cached_input_tokens
        fields["reasoning_tokens"] = self.reasoning_tokens + other.reasoning_tokens
        return made

    def to_dict(self) -> dict[str, int]:
        """``input_tokens`` and ``output_tokens``, and the cached and reasoning parts when not 0."""
        data = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if self.cached_input_tokens:
            data["cached_input_tokens"] = self.cached_input_tokens
        if self.reasoning_tokens:
            data["reasoning_tokens"] = self.reasoning_tokens
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Inverse of :meth:`to_dict`."""
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            int(data.get("cached_input_tokens", 0)),
            int(data.get("reasoning_tokens", 0)),
        )


#: The usage of a reply that reports none (Usage is immutable, so one serves all).
_NO_USAGE = Usage()
_new = object.__new__


@dataclass(frozen=True, init=False)  # its own __init__, below
class ChatRequest:
    """What an agent asks a model.

    ``functions`` are offered for native function calling; ``stream`` asks for
    text deltas through the ``on_text`` callback of :meth:`Model.complete`.
    """

    messages: tuple[Message, ...]
    functions: tuple[FunctionSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False

    def __init__(
        self,
        messages: tuple[Message, ...],
        functions: tuple[FunctionSpec, ...] = (),
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = False,
    ) -> None:
        # Written by hand (init=False): a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, and a turn makes several of these.
        fields = self.__dict__
        fields["messages"] = messages
        fields["functions"] = functions
        fields["temperature"] = temperature
        fields["max_tokens"] = max_tokens
        fields["stream"] = stream

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "messages": [m.to_dict() for m in self.messages],
            "functions": [f.to_dict() for f in self.functions],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": self.stream,
        }


@dataclass(frozen=True, init=False)  # its own __init__, below
class ChatResponse:
    """A model's reply: text, function calls, why it stopped, and token usage.

    ``refusal`` is the model's refusal text (OpenAI's ``message.refusal``), if it
    refused; ``extra`` holds provider fields of the reply to send back with it
    (see :data:`Extra`). :meth:`message` is the reply as it joins the history.
    """

    text: str | None = None
    function_calls: tuple[FunctionCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    refusal: str | None = None
    extra: Extra = field(default_factory=dict)

    def __init__(
        self,
        text: str | None = None,
        function_calls: tuple[FunctionCall, ...] = (),
        finish_reason: str | None = None,
        usage: Usage | None = None,
        model: str | None = None,
        refusal: str | None = None,
        extra: Extra | None = None,
    ) -> None:
        # Written by hand (init=False): a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, and a turn makes several of these.
        fields = self.__dict__
        fields["text"] = text
        fields["function_calls"] = function_calls
        fields["finish_reason"] = finish_reason
        fields["usage"] = _NO_USAGE if usage is None else usage  # immutable: one is enough
        fields["model"] = model
        fields["refusal"] = refusal
        fields["extra"] = {} if extra is None else extra

    def message(self) -> Message:
        """The assistant message that records this reply (a refusal stands as its text)."""
        text = self.text if self.text or not self.refusal else self.refusal
        return Message("assistant", text, function_calls=self.function_calls, extra=self.extra)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by cassettes); ``refusal`` and ``extra`` only when set."""
        data: dict[str, Any] = {
            "text": self.text,
            "function_calls": [c.to_dict() for c in self.function_calls],
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "model": self.model,
        }
        if self.refusal is not None:
            data["refusal"] = self.refusal
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatResponse:
        """Inverse of :meth:`to_dict`."""
        return cls(
            text=data.get("text"),
            function_calls=tuple(FunctionCall.from_dict(c) for c in data.get("function_calls", ())),
            finish_reason=data.get("finish_reason"),
            usage=Usage.from_dict(data.get("usage") or {}),
            model=data.get("model"),
            refusal=data.get("refusal"),
            extra=_extra_from(data.get("extra")),
        )


TextCallback = Callable[[str], None]


@runtime_checkable
class Model(Protocol):
    """A model the agents can talk to.

    ``model_id`` is its ``provider:model`` id (used for prices and hashing).
    ``complete`` raises :class:`autoplug.ModelError` for provider failures.
    """

    model_id: str

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """Answer one request; call ``on_text`` with text deltas when streaming."""
        ...


class Provider(Protocol):
    """A source of models: ``name`` is the model-id prefix."""

    name: str

    def model(self, model_name: str, config: Any) -> Model:
        """Build the model ``name:model_name`` with the kernel's config."""
        ...


def parse_model_id(model_id: str) -> tuple[str, str]:
    """Split ``provider:model``; raise UnknownModelError when it has no provider part."""
    provider, sep, name = model_id.partition(":")
    if not sep or not provider or not name:
        raise UnknownModelError(
            f"model id {model_id!r} must be written provider:model (for example openai:gpt-4o-mini)"
        )
    return provider, name


#: One encoder for :func:`canonical_json`: ``json.dumps`` with these options builds a
#: new one per call, which costs more than writing a short value.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def c_encoder(base: json.JSONEncoder) -> Any:
    """CPython's C encoder with ``base``'s options, made once, or None without it.

    ``JSONEncoder.encode`` makes one on every call (through ``iterencode``), which
    costs more than writing a short value. This one is made without the cycle
    check (the only state an encoder keeps between calls): a cycle ends in
    RecursionError, so a caller that meets one asks ``base`` again, which says
    what ``json.dumps`` says (see :func:`encode_with`).
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None or base.indent is not None:
        return None
    strings = encoder.encode_basestring_ascii if base.ensure_ascii else encoder.encode_basestring
    return make(
        None,
        base.default,
        strings,
        None,
        base.key_separator,
        base.item_separator,
        base.sort_keys,
        base.skipkeys,
        base.allow_nan,
    )


def encode_with(fast: Any, base: json.JSONEncoder, data: Any) -> str:
    """``base.encode(data)``, written by ``fast`` (:func:`c_encoder` of ``base``) when there is one.

    The same text and the same errors: a value ``fast`` cannot finish (a cycle, or
    nesting past the recursion limit) is written again by ``base``, which raises
    what ``json.dumps`` raises.
    """
    if fast is None:
        return base.encode(data)
    try:
        return "".join(fast(data, 0))
    except RecursionError:
        return base.encode(data)


_C_CANONICAL = c_encoder(_CANONICAL)


def canonical_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept (as ``json.dumps`` writes it)."""
    return encode_with(_C_CANONICAL, _CANONICAL, data)


def request_hash(model_id: str, request: ChatRequest) -> str:
    """The canonical hash of (model, messages, offered functions) used by record and replay."""
    payload = {
        "model": model_id,
        "messages": [m.to_dict() for m in request.messages],
        "functions": [f.to_dict() for f in request.functions],
    }
    import hashlib  # here: it costs ~3 ms of the CLI's start

    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def cost_usd(model_id: str, usage: Usage, config: Any) -> float | None:
    """The cost of ``usage``: ``[prices."ID"]`` in the config, else genai-prices; None when unpriced."""
    from .prices import find_price

    price = find_price(model_id, config)
    return price.cost(usage) if price is not None else None


#: A model whose price is not looked up yet (None means it has no price).
_UNPRICED: Any = object()


@dataclass
class UsageTracker:
    """Per-run accounting: model calls, tokens, and USD where priced.

    Each model's price is looked up once (see :mod:`autoplug.prices`).
    """

    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    usd: float = 0.0
    priced: bool = False
    prices: dict[str, Any] = field(default_factory=dict)

    def add(self, model_id: str, usage: Usage, config: Any) -> None:
        """Count one call."""
        self.calls += 1
        self.usage = self.usage + usage
        price = self.prices.get(model_id, _UNPRICED)
        if price is _UNPRICED:
            from .prices import find_price  # here: pricing loads genai-prices

            price = self.prices[model_id] = find_price(model_id, config)
        if price is not None:
            self.usd += price.cost(usage)
            self.priced = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``llm_calls``, ``input_tokens``, ``cached_input_tokens``,
        ``output_tokens``, ``reasoning_tokens``, ``total_tokens``, ``usd`` (null when unpriced)."""
        return {
            "llm_calls": self.calls,
            "input_tokens": self.usage.input_tokens,
            "cached_input_tokens": self.usage.cached_input_tokens,
            "output_tokens": self.usage.output_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "total_tokens": self.usage.total_tokens,
            "usd": round(self.usd, 6) if self.priced else None,
        }


class ModelRegistry:
    """Registered providers by name; resolves model ids and Model objects."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.providers: dict[str, Any] = {}
        self.owners: dict[str, str] = {}

    def add(self, provider: Any, plugin: str) -> None:
        """Register a provider for ``plugin``; the first plugin by name keeps a name.

        A *provider source* (an object with ``providers(config)`` and no ``name``)
        is expanded here into the providers it makes from the config, so a plugin
        can register one provider per config table although the hook has no config.
        """
        if getattr(provider, "name", None) is None and callable(
            getattr(provider, "providers", None)
        ):
            for each in provider.providers(self.config):
                self.add(each, plugin)
            return
        name = getattr(provider, "name", None)
        if not isinstance(name, str) or not name or ":" in name:
            raise UnknownModelError(f"plugin {plugin!r} registered a provider without a valid name")
        if name not in self.providers:
            self.providers[name] = provider
            self.owners[name] = plugin

    def remove_plugin(self, plugin: str) -> None:
        """Forget the providers of ``plugin``."""
        for name in [n for n, p in self.owners.items() if p == plugin]:
            del self.providers[name]
            del self.owners[name]

    def resolve(self, spec: Any) -> Model:
        """A Model for a ``provider:model`` id, or ``spec`` itself when it is a Model."""
        if not isinstance(spec, str):
            if hasattr(spec, "complete"):
                return spec
            raise UnknownModelError(f"{spec!r} is neither a model id nor a Model")
        provider_name, model_name = parse_model_id(spec)
        provider = self.providers.get(provider_name)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            hint = did_you_mean(provider_name, self.providers)
            raise UnknownModelError(
                f"unknown model provider {provider_name!r} in {spec!r}; {hint}"
                f"known providers: {known}"
            )
        return provider.model(model_name, self.config)

    def recording(
        self, model: Model, path: Any, catalog: list[dict[str, Any]] | None = None
    ) -> Model:
        """``model`` wrapped to write every exchange to the cassette at ``path``.

        ``catalog`` (:func:`autoplug.catalog.catalog_entries`) is the tool catalog
        the run offers, kept in the cassette so a replay offers the same. Needs the
        ``replay`` provider (builtin ``autoplug_models``) to offer ``recorder(model,
        path, catalog)``; raises UsageError otherwise.
        """
        from .errors import UsageError

        provider = self.providers.get("replay")
        if provider is None or not hasattr(provider, "recorder"):
            raise UsageError("recording needs the 'replay' provider (plugin autoplug_models)")
        if catalog is None:
            return provider.recorder(model, path)
        return provider.recorder(model, path, catalog)
