"""``autoplug runs show RUN_ID --transcript``: what the agents were told and answered, as text."""

from __future__ import annotations

import json
from typing import Any

import click


def echo_transcript(entries: list[dict[str, Any]]) -> None:
    """Print the transcript: each model exchange with its messages and reply, each step."""
    if not entries:
        click.echo("(no model calls or steps recorded)")
    for number, entry in enumerate(entries, 1):
        if entry.get("kind") == "model":
            _echo_model(number, entry)
        elif entry.get("kind") == "step":
            _echo_step(number, entry)
        elif entry.get("kind") == "child":
            click.echo(
                f"[{number}] child run {entry.get('run_id')} (role {entry.get('team_role')}): "
                f"{entry.get('status')}  (its transcript: autoplug runs show "
                f"{entry.get('run_id')} --transcript)"
            )
        else:  # a kind this version does not draw (a manager's child, say): its JSON
            click.echo(f"[{number}] {json.dumps(entry, ensure_ascii=False)}")
        click.echo("")


def _seconds(value: Any) -> str:
    return f"{value:.3f}s" if isinstance(value, int | float) else "-"


def _echo_model(number: int, entry: dict[str, Any]) -> None:
    usage = entry.get("usage") or {}
    role = f" ({entry['team_role']})" if entry.get("team_role") else ""
    click.echo(
        f"[{number}] model call: {entry.get('agent')}{role}  {entry.get('model') or '-'}  "
        f"{_seconds(entry.get('duration_s'))}  "
        f"tokens in {usage.get('input_tokens', '-')} / out {usage.get('output_tokens', '-')}"
    )
    added = entry.get("messages_added")
    if added is None:
        click.echo("  (what this call was told was not recorded: a run from an older autoplug)")
    for message in added or []:
        click.echo(_indent(f"--> {_message_text(message)}"))
    reply = entry.get("reply")
    if reply is not None:
        click.echo(_indent(f"<-- {_message_text(reply)}"))


def _echo_step(number: int, entry: dict[str, Any]) -> None:
    click.echo(
        f"[{number}] step {entry.get('act')}.{entry.get('step')}: {entry.get('tool')}  "
        f"{entry.get('status')}  {_seconds(entry.get('duration_s'))}"
    )
    if entry.get("args") is not None:
        click.echo(_indent(f"args: {json.dumps(entry['args'], ensure_ascii=False)}"))
    if entry.get("preview") is not None:
        click.echo(_indent(f"preview: {entry['preview']}"))
    if entry.get("error"):
        click.echo(_indent(f"error: {entry['error']}"))


def _message_text(message: dict[str, Any]) -> str:
    """One message as ``role: content`` and its function calls, each ``name {arguments}``."""
    role = message.get("role") or "?"
    if message.get("name"):
        role += f" ({message['name']})"
    lines = []
    if message.get("content"):
        lines.append(str(message["content"]))
    for call in message.get("function_calls") or []:
        arguments = call.get("raw_arguments") if call.get("error") else call.get("arguments")
        lines.append(f"{call.get('name')} {json.dumps(arguments, ensure_ascii=False)}")
    return f"{role}: " + ("\n".join(lines) if lines else "(empty)")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))
