"""Builtin plugin ``autoplug_otel``: OpenTelemetry spans of every run (extra ``otel``).

On when ``[otel] enabled = true``, or, with ``enabled`` unset, when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; ``enabled = false`` turns it off even
then. Off, it costs nothing: OpenTelemetry is never imported and no observer is
registered. On without the extra installed, the plugin is ``failed`` with a
one-line reason naming ``pip install 'autoplug[otel]'``.

The spans (see :mod:`autoplug_builtins.otel.spans`) follow the OpenTelemetry
GenAI semantic conventions and go to the application's tracer provider when it
set one, else to an OTLP/HTTP exporter of the plugin's own.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any

from autoplug import PluginError, hookimpl

#: The modules the extra ``otel`` installs (looked up without importing them).
EXTRA_MODULES = (
    "opentelemetry.trace",
    "opentelemetry.sdk",
    "opentelemetry.exporter.otlp.proto.http",
)
#: The name the per-kernel observer is registered under.
OBSERVER_NAME = "autoplug_otel.spans"


def otel_wanted(config: Any) -> bool:
    """Whether the kernel's config and environment ask for spans."""
    enabled = config.section("otel").get("enabled")
    if isinstance(enabled, bool):
        return enabled
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())


def extra_installed() -> bool:
    """Whether the ``otel`` extra's packages are installed."""
    try:
        return all(find_spec(name) is not None for name in EXTRA_MODULES)
    except (ImportError, ValueError):  # a missing parent package
        return False


@hookimpl
def kernel_loaded(kernel: Any) -> None:
    """Register this kernel's span builder when its config asks for spans."""
    if not otel_wanted(kernel.config):
        return
    if not extra_installed():
        raise PluginError(
            "OpenTelemetry is on ([otel] enabled or OTEL_EXPORTER_OTLP_ENDPOINT) but its "
            "packages are missing: install autoplug[otel] (pip install 'autoplug[otel]')"
        )
    kernel.pm.register(LazySpans(), name=OBSERVER_NAME)


class LazySpans:
    """This kernel's span builder, made at the first event.

    OpenTelemetry is imported then, not when the kernel loads (``autoplug tools``
    stays fast with tracing on), and the tracer provider is chosen then, so an
    application that sets its provider after building the kernel still gets the spans.
    """

    def __init__(self) -> None:
        self._spans: Any = None

    @hookimpl
    def on_event(self, event: Any) -> None:
        """Give ``event`` to the span builder, making it first if needed."""
        if self._spans is None:
            from .spans import RunSpans, tracer_provider

            self._spans = RunSpans(tracer_provider())
        self._spans.on_event(event)
