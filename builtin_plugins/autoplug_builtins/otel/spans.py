"""Spans built from a run's events, named as the OpenTelemetry GenAI semantic conventions say.

- ``invoke_agent {auto}`` for a run (a whole conversation for an Assistant);
- ``chat {model}`` for each model call (the model name without the provider
  prefix), from the ``llm_call`` event: it ends at the event's time and starts
  ``duration_s`` earlier;
- ``execute_tool {tool}`` for each step, from ``step_started`` to
  ``step_finished`` / ``step_failed`` (error status and ``error.type`` on failure).

Every call and step span is a direct child of its run's span; a manager's child
run (its events carry ``child_run``) has its own ``invoke_agent`` span, a direct
child of the manager's, with ``autoplug.team_role``. The times are the events' own, so the spans say when things happened, not when they were observed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from autoplug import __version__, hookimpl

_own_provider: Any = None


def tracer_provider() -> Any:
    """The application's tracer provider when it set one, else this process's own OTLP/HTTP one.

    The own provider exports in batches (a background thread) to the endpoint
    the standard ``OTEL_EXPORTER_OTLP_*`` variables name, and flushes at exit. It
    is made once per process and never installed as the global provider: that
    choice stays the application's.
    """
    global _own_provider
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current
    if _own_provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "autoplug"}
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _own_provider = provider
    return _own_provider


def _ns(seconds: Any) -> int | None:
    return int(float(seconds) * 1e9) if isinstance(seconds, int | float) else None


def split_model(model_id: Any) -> tuple[str, str]:
    """``(provider, model)`` of a ``provider:model`` id (``("unknown", id)`` without a prefix)."""
    text = str(model_id or "unknown")
    provider, sep, name = text.partition(":")
    return (provider, name) if sep and provider and name else ("unknown", text)


@dataclass
class _Run:
    span: Span
    provider: str
    model: str
    act: int = 0
    steps: dict[str, Span] = field(default_factory=dict)


class RunSpans:
    """One kernel's span builder: an ``on_event`` observer holding each open run's spans."""

    def __init__(self, provider: Any) -> None:
        self.tracer = provider.get_tracer("autoplug", __version__)
        self.runs: dict[str, _Run] = {}

    @hookimpl
    def on_event(self, event: Any) -> None:
        """Turn one event into span starts, ends and attributes."""
        handle = getattr(self, f"_on_{event.type}", None)
        if handle is not None and event.run_id is not None:
            handle(event, event.data or {})

    # -- the run ------------------------------------------------------------------

    @staticmethod
    def _key(event: Any) -> str:
        """The run an event belongs to: a manager's child's own id, else the event's run id."""
        return str((event.data or {}).get("child_run") or event.run_id)

    def _run(self, event: Any, data: dict[str, Any]) -> _Run:
        """The run's state, starting its span at this event when none is open (a resume)."""
        key = self._key(event)
        run = self.runs.get(key)
        if run is not None:
            return run
        manager = self.runs.get(event.run_id) if key != event.run_id else None
        auto = data.get("auto")
        provider, model = split_model(data.get("model"))
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "gen_ai.conversation.id": key,
        }
        if auto:
            attributes["gen_ai.agent.name"] = auto
        if key != event.run_id:
            attributes["autoplug.team_role"] = str((event.data or {}).get("team_role"))
        span = self.tracer.start_span(
            f"invoke_agent {auto}" if auto else "invoke_agent",
            context=trace.set_span_in_context(manager.span) if manager is not None else None,
            kind=SpanKind.INTERNAL,
            start_time=_ns(event.time),
            attributes=attributes,
        )
        run = self.runs[key] = _Run(span, provider, model)
        return run

    def _on_run_started(self, event: Any, data: dict[str, Any]) -> None:
        self._run(event, data)

    def _on_run_resumed(self, event: Any, data: dict[str, Any]) -> None:
        run = self._run(event, data)
        if isinstance(data.get("acts"), int):
            run.act = data["acts"]  # the resumed run numbers its acts from there

    def _on_decision(self, event: Any, data: dict[str, Any]) -> None:
        if data.get("function") == "act":
            self._run(event, data).act += 1

    def _on_run_finished(self, event: Any, data: dict[str, Any]) -> None:
        run = self._run(event, {})
        end = _ns(event.time)
        for span in run.steps.values():  # steps still open when the run ended
            span.set_status(Status(StatusCode.ERROR, "the run ended first"))
            span.set_attribute("error.type", "interrupted")
            span.end(end_time=end)
        usage = data.get("usage") or {}
        for key in ("input_tokens", "output_tokens"):
            if isinstance(usage.get(key), int):
                run.span.set_attribute(f"gen_ai.usage.{key}", usage[key])
        status = data.get("status")
        if status != "succeeded":
            run.span.set_status(Status(StatusCode.ERROR, str(data.get("reason") or status)))
            run.span.set_attribute("error.type", str(status))
        run.span.end(end_time=end)
        del self.runs[self._key(event)]

    # -- model calls and steps --------------------------------------------------

    def _child(self, run: _Run, name: str, kind: SpanKind, start: Any, attrs: dict) -> Span:
        return self.tracer.start_span(
            name,
            context=trace.set_span_in_context(run.span),
            kind=kind,
            start_time=_ns(start),
            attributes=attrs,
        )

    def _on_llm_call(self, event: Any, data: dict[str, Any]) -> None:
        run = self._run(event, {})
        provider, model = (
            split_model(data.get("model"))
            if data.get("model")
            else (
                run.provider,
                run.model,
            )
        )
        duration = data.get("duration_s")
        start = event.time - duration if isinstance(duration, int | float) else event.time
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "autoplug.purpose": str(data.get("purpose")),
        }
        for key in ("input_tokens", "output_tokens"):
            if isinstance(data.get(key), int):
                attributes[f"gen_ai.usage.{key}"] = data[key]
        span = self._child(run, f"chat {model}", SpanKind.CLIENT, start, attributes)
        span.end(end_time=_ns(event.time))

    def _on_step_started(self, event: Any, data: dict[str, Any]) -> None:
        run = self._run(event, {})
        step, tool = str(data.get("step")), str(data.get("tool"))
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.call.id": f"{run.act}.{step}",
            "gen_ai.tool.type": "function",
        }
        run.steps[step] = self._child(
            run, f"execute_tool {tool}", SpanKind.INTERNAL, event.time, attributes
        )

    def _on_step_finished(self, event: Any, data: dict[str, Any]) -> None:
        span = self._run(event, {}).steps.pop(str(data.get("step")), None)
        if span is not None:  # None: a step reused on resume, which did not run now
            span.end(end_time=_ns(event.time))

    def _on_step_failed(self, event: Any, data: dict[str, Any]) -> None:
        span = self._run(event, {}).steps.pop(str(data.get("step")), None)
        if span is None:
            return
        span.set_status(Status(StatusCode.ERROR, str(data.get("error"))))
        span.set_attribute("error.type", str(data.get("kind") or "tool_error"))
        span.end(end_time=_ns(event.time))
