"""The builtin plugin autoplug_otel: GenAI spans of runs, model calls and steps (extra ``otel``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from shout_tools import ShoutTools

from autoplug import Kernel, hookimpl
from autoplug.scripted import ScriptedModel, call

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
pytest.importorskip(
    "opentelemetry.exporter.otlp.proto.http", reason="the otel extra is not installed"
)

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

PLAN = call(
    "submit_plan",
    steps=[
        {"id": "s1", "tool": "shout", "args": {"text": "jupiter"}, "output": "loud"},
        {"id": "s2", "tool": "explode", "args": {"message": "no route"}, "output": "route"},
    ],
)


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The application's tracer provider, set once for this process, exporting to memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    return memory


def traced_kernel(home: Path, otel: str = "[otel]\nenabled = true\n") -> Kernel:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(otel)
    return Kernel(plugins=[ShoutTools()], builtins=["autoplug_autos", "autoplug_otel"], home=home)


def run_once(kernel: Kernel) -> Any:
    model = ScriptedModel(
        [call("act", subtask="make it loud", assets=[]), PLAN, call("final", answer="JUPITER")]
    )
    return kernel.run("Which planet is largest?", model=model)


def test_spans_name_the_run_its_model_calls_and_steps(tmp_path, exporter):
    exporter.clear()
    result = run_once(traced_kernel(tmp_path / "home"))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == [
        "chat test",
        "chat test",
        "chat test",
        "execute_tool explode",
        "execute_tool shout",
        "invoke_agent runner",
    ]
    run = spans["invoke_agent runner"]
    assert run.parent is None
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "runner"
    assert run.attributes["gen_ai.provider.name"] == "scripted"
    assert run.attributes["gen_ai.conversation.id"] == result.run_id
    assert run.status.status_code == StatusCode.UNSET  # succeeded
    for span in exporter.get_finished_spans():
        if span is not run:  # every call and step is a direct child of the run
            assert span.parent is not None and span.parent.span_id == run.context.span_id
            assert span.context.trace_id == run.context.trace_id
            assert run.start_time <= span.start_time <= span.end_time <= run.end_time


def test_a_chat_span_carries_the_model_usage_and_duration(tmp_path, exporter):
    exporter.clear()
    run_once(traced_kernel(tmp_path / "home"))
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    assert [c.attributes["autoplug.purpose"] for c in chats] == ["decide", "plan", "decide"]
    for chat in chats:
        assert chat.kind == trace.SpanKind.CLIENT
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "scripted"
        assert chat.attributes["gen_ai.request.model"] == "test"
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        assert chat.end_time >= chat.start_time


def test_a_failed_step_span_has_error_status_and_type(tmp_path, exporter):
    exporter.clear()
    run_once(traced_kernel(tmp_path / "home"))
    steps = {s.name: s for s in exporter.get_finished_spans() if s.name.startswith("execute")}
    ok, failed = steps["execute_tool shout"], steps["execute_tool explode"]
    assert ok.attributes["gen_ai.tool.name"] == "shout"
    assert ok.attributes["gen_ai.tool.call.id"] == "1.s1"
    assert ok.status.status_code == StatusCode.UNSET
    assert failed.attributes["gen_ai.tool.name"] == "explode"
    assert failed.attributes["gen_ai.tool.call.id"] == "1.s2"
    assert failed.status.status_code == StatusCode.ERROR
    assert "no route" in failed.status.description
    assert failed.attributes["error.type"] == "tool_error"


def test_a_stopped_run_span_has_error_status(tmp_path, exporter):
    exporter.clear()
    home = tmp_path / "home"
    kernel = traced_kernel(home, "[otel]\nenabled = true\n[limits]\niterations = 1\n")
    model = ScriptedModel([call("brainstorm", thoughts="hmm")])
    assert kernel.run("think", model=model).status == "stopped"
    (run,) = [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")]
    assert run.status.status_code == StatusCode.ERROR
    assert run.attributes["error.type"] == "stopped"
    assert "iterations limit" in run.status.description


def test_no_spans_when_otel_is_not_asked_for(tmp_path, exporter, monkeypatch):
    exporter.clear()
    kernel = traced_kernel(tmp_path / "home", "")
    assert kernel.pm.get_plugin("autoplug_otel.spans") is None
    assert kernel.plugins["autoplug_otel"].status == "loaded"
    run_once(kernel)
    assert exporter.get_finished_spans() == ()


def test_enabled_false_wins_over_the_endpoint_variable(tmp_path, exporter, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    kernel = traced_kernel(tmp_path / "home", "[otel]\nenabled = false\n")
    assert kernel.pm.get_plugin("autoplug_otel.spans") is None
    on = traced_kernel(tmp_path / "other", "")
    assert on.pm.get_plugin("autoplug_otel.spans") is not None


def test_an_unknown_or_wrongly_typed_otel_key_is_a_config_error(tmp_path):
    from autoplug.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"unknown key \[otel\] enable \(did you mean enabled\?\); known keys in \[otel\]: enabled",
    ):
        traced_kernel(tmp_path / "a", "[otel]\nenable = true\n")
    with pytest.raises(ConfigError, match=r"\[otel\] enabled must be true or false"):
        traced_kernel(tmp_path / "b", '[otel]\nenabled = "yes"\n')


# -- the extra missing, through the real command ----------------------------------


def plugins_json(home: Path, extra_env: dict[str, str]) -> dict[str, Any]:
    env = dict(os.environ, AUTOPLUG_HOME=str(home), **extra_env)
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.update(extra_env)
    out = subprocess.run(
        [AUTOPLUG, "plugins", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return {p["name"]: p for p in json.loads(out.stdout)}


def hide_opentelemetry(tmp_path: Path) -> str:
    """A folder whose empty ``opentelemetry`` package shadows the installed one."""
    fake = tmp_path / "no_otel"
    (fake / "opentelemetry").mkdir(parents=True)
    (fake / "opentelemetry" / "__init__.py").write_text("")
    return str(fake)


def test_without_the_extra_the_plugin_fails_only_when_asked_for(tmp_path):
    hidden = {"PYTHONPATH": hide_opentelemetry(tmp_path)}
    home = tmp_path / "home"
    home.mkdir()
    silent = plugins_json(home, hidden)["autoplug_otel"]
    assert silent["status"] == "loaded" and silent["error"] is None
    (home / "config.toml").write_text("[otel]\nenabled = true\n")
    asked = plugins_json(home, hidden)["autoplug_otel"]
    assert asked["status"] == "failed"
    assert "install autoplug[otel]" in asked["error"] and "\n" not in asked["error"]
    (home / "config.toml").write_text("")
    by_env = plugins_json(home, {**hidden, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert by_env["autoplug_otel"]["status"] == "failed"


def test_the_plugin_imports_no_opentelemetry_when_off(tmp_path):
    code = (
        "import sys; from autoplug import Kernel; k = Kernel.load(); "
        "print(k.plugins['autoplug_otel'].status, "
        "sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    env = dict(os.environ, AUTOPLUG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["loaded", "[]"]


# -- the real OTLP/HTTP exporter, posting to a loopback receiver ---------------------


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps each request's decoded spans."""

    requests: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        self.requests.append((self.path, self.headers.get("Content-Type"), message))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_otlp_http_exporter_posts_the_spans_to_the_endpoint(tmp_path):
    Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        workspace = tmp_path / "work"
        workspace.mkdir()
        (workspace / "notes.txt").write_text("Jupiter is the largest planet.")
        replies = tmp_path / "replies.jsonl"
        plan = [
            {"id": "read", "tool": "read_file", "args": {"path": "notes.txt"}, "output": "notes"}
        ]
        replies.write_text(
            "\n".join(
                json.dumps(r)
                for r in [
                    {"call": "act", "arguments": {"subtask": "read the notes", "assets": []}},
                    {"call": "submit_plan", "arguments": {"steps": plan}},
                    {"call": "final", "arguments": {"answer": "Jupiter"}},
                ]
            )
            + "\n"
        )
        env = dict(
            os.environ,
            AUTOPLUG_HOME=str(tmp_path / "home"),
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        out = subprocess.run(
            [
                AUTOPLUG,
                "run",
                "Which planet is largest?",
                "--model",
                f"scripted:{replies}",
                "--workspace",
                str(workspace),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        run_id = json.loads(out.stdout)["run_id"]
    finally:
        server.shutdown()
        server.server_close()
    assert Receiver.requests, "no OTLP request arrived"
    spans = []
    for path, content_type, message in Receiver.requests:
        assert path == "/v1/traces" and content_type == "application/x-protobuf"
        for resource in message.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            assert service["service.name"] == "autoplug"
            for scope in resource.scope_spans:
                spans += list(scope.spans)
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (run,) = by_name["invoke_agent runner"]
    (step,) = by_name["execute_tool read_file"]
    chats = [s for name, group in by_name.items() if name.startswith("chat ") for s in group]
    assert len(chats) == 3
    assert run.parent_span_id == b""
    for child in [step, *chats]:
        assert child.parent_span_id == run.span_id and child.trace_id == run.trace_id
    attributes = {a.key: a.value for a in run.attributes}
    assert attributes["gen_ai.conversation.id"].string_value == run_id
    step_attributes = {a.key: a.value for a in step.attributes}
    assert step_attributes["gen_ai.tool.name"].string_value == "read_file"
    chat_attributes = {a.key: a.value for a in chats[0].attributes}
    assert chat_attributes["gen_ai.usage.input_tokens"].int_value > 0
    assert chat_attributes["gen_ai.provider.name"].string_value == "scripted"


def test_with_otel_on_loading_the_kernel_still_imports_no_opentelemetry(tmp_path):
    (tmp_path / "config.toml").write_text("[otel]\nenabled = true\n")
    code = (
        "import sys; from autoplug import Kernel; k = Kernel.load(); "
        "print(k.plugins['autoplug_otel'].status, k.pm.get_plugin('autoplug_otel.spans') is not None, "
        # Looking the extra up imports its namespace packages (no code: no __file__), no more.
        "sorted(m for m in sys.modules if m.startswith('opentelemetry')"
        " and getattr(sys.modules[m], '__file__', None)))"
    )
    env = dict(os.environ, AUTOPLUG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["loaded", "True", "[]"]


def test_a_managers_child_run_span_is_a_direct_child_of_the_managers(tmp_path, exporter):
    from autoplug import Role

    class Team(ShoutTools):
        name = "otel_team"

        @hookimpl
        def register_roles(self, register: Any) -> None:
            register(Role("loud", "shouts", "You shout.", tools=["shout"]))

    def reply(request):
        names = {f.name for f in request.functions}
        system = request.messages[0].content or ""
        last = request.messages[-1].content or ""
        if "Your role in the team: loud." in system:
            if "submit_plan" in names:
                step = {"id": "s1", "tool": "shout", "args": {"text": "hi"}, "output": "x"}
                return call("submit_plan", steps=[step])
            if '"subtask"' in last:
                return call("final", answer="HI")
            return call("act", subtask="shout", assets=[])
        if '"delegated"' in last:
            return call("final", answer="done")
        return call("delegate", assignments=[{"role": "loud", "subtask": "shout", "assets": []}])

    exporter.clear()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[otel]\nenabled = true\n")
    kernel = Kernel(plugins=[Team()], builtins=["autoplug_autos", "autoplug_otel"], home=home)
    result = kernel.run("Shout.", model=ScriptedModel(reply), auto="manager")
    assert result.status == "succeeded"
    spans = exporter.get_finished_spans()
    manager = next(s for s in spans if s.name == "invoke_agent manager")
    child = next(s for s in spans if s.name == "invoke_agent runner")
    assert manager.parent is None
    assert child.parent is not None and child.parent.span_id == manager.context.span_id
    assert child.attributes["autoplug.team_role"] == "loud"
    assert child.attributes["gen_ai.conversation.id"] != result.run_id  # the child's own id
    tool_span = next(s for s in spans if s.name == "execute_tool shout")
    assert tool_span.parent.span_id == child.context.span_id  # its steps are the child's
    chats = [s for s in spans if s.name == "chat test"]
    assert (
        sorted(s.parent.span_id == child.context.span_id for s in chats) == [False] * 2 + [True] * 3
    )
