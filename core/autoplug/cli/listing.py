"""``autoplug plugins``, ``tools``, ``tools call``, ``models`` and ``autos``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import describe_error
from ..schema import json_type
from ..tools import CallContext
from . import echo_json, echo_table, fail, get_kernel


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(plugins_command)
    cli.add_command(tools_group)
    cli.add_command(models_command)
    cli.add_command(autos_command)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def plugins_command(as_json: bool) -> None:
    """List every plugin: loaded, failed (with its error) or disabled."""
    kernel = get_kernel()
    infos = [kernel.plugins[name].to_dict() for name in sorted(kernel.plugins)]
    if as_json:
        echo_json(infos)
        return
    rows = [
        [
            p["name"],
            p["status"],
            p["distribution"] or "-",
            p["version"] or "-",
            ",".join(p["hooks"]) or "-",
        ]
        for p in infos
    ]
    echo_table(rows, ["NAME", "STATUS", "DISTRIBUTION", "VERSION", "HOOKS"])
    for p in infos:
        if p["error"]:
            click.echo(f"{p['name']}: {p['error']}", err=True)
        elif p.get("note"):
            click.echo(f"{p['name']}: {p['note']}", err=True)


def _tool_dict(kernel: Any, tool: Any) -> dict[str, Any]:
    return {
        "name": kernel.tools.call_name(tool),
        "qualified_name": tool.qualified_name,
        "plugin": tool.plugin,
        "description": tool.description,
        "parameters": tool.parameters,
        "side_effects": tool.side_effects,
    }


@click.group("tools", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def tools_group(ctx: click.Context, as_json: bool) -> None:
    """List every tool; `tools call NAME` calls one."""
    if ctx.invoked_subcommand is not None:
        return
    kernel = get_kernel()
    tools = [_tool_dict(kernel, t) for t in kernel.tools.all()]
    if as_json:
        echo_json(tools)
        return
    rows = []
    for t in tools:
        params = ", ".join(t["parameters"].get("properties", {}))
        summary = (t["description"] or "").splitlines()[0] if t["description"] else ""
        flag = " [side effects]" if t["side_effects"] else ""
        rows.append([t["name"], t["plugin"], f"({params})", summary[:60] + flag])
    echo_table(rows, ["NAME", "PLUGIN", "ARGS", "DESCRIPTION"])


def _approve_interactively(tool_name: str, args: dict[str, Any]) -> bool:
    if not sys.stdin.isatty():
        return False
    return click.confirm(
        f"tool {tool_name!r} has side effects; run it with {json.dumps(args)}?",
        default=False,
        err=True,
    )


@tools_group.command("call")
@click.argument("name")
@click.argument("args_json", required=False, default="{}")
@click.option("--yes", is_flag=True, help="Approve a tool with side effects.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole ToolResult as JSON.")
def tools_call(name: str, args_json: str, yes: bool, as_json: bool) -> None:
    """Call one tool through the validating door; prints its value as JSON.

    Exit 2 for an unknown tool or invalid arguments, 1 for any other failure.
    """
    kernel = get_kernel()
    try:
        args = json.loads(args_json)
    except json.JSONDecodeError as exc:
        fail(f"ARGS_JSON is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", 2)
    except RecursionError:
        fail("ARGS_JSON is nested too deeply to read (arrays or objects inside each other)", 2)
    except ValueError as exc:  # an integer of more than 4,300 digits
        fail(f"ARGS_JSON cannot be read: {' '.join(str(exc).split())[:200]}", 2)
    if not isinstance(args, dict):
        fail(f"ARGS_JSON must be a JSON object, not {json_type(args)}: {args_json.strip()[:80]}", 2)
    found = kernel.tools.get(name)
    approved = yes
    if (
        found is not None
        and found.side_effects
        and not found.auto_approve
        and not yes
        and not found.violations(args)
    ):
        approved = _approve_interactively(found.name, args)
    result = kernel.tools.call(name, args, context=CallContext(approved=approved))
    if as_json:
        echo_json(result.to_dict())
    elif result.ok:
        try:
            text = json.dumps(result.value, ensure_ascii=False, default=str)
        except (ValueError, RecursionError) as exc:
            fail(f"the value of tool {name!r} cannot be written as JSON: {describe_error(exc)}", 1)
        click.echo(text)
    if not result.ok:
        if not as_json:
            click.echo(f"error: {result.error}", err=True)
        raise SystemExit(2 if result.kind in ("unknown_tool", "invalid_args") else 1)


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def models_command(as_json: bool) -> None:
    """List model providers (use a model as PROVIDER:MODEL) and the default model."""
    kernel = get_kernel()
    providers = [
        {
            "name": name,
            "plugin": kernel.models.owners[name],
            "description": getattr(provider, "description", ""),
        }
        for name, provider in sorted(kernel.models.providers.items())
    ]
    from ..prices import config_price, find_price

    default = kernel.config.default_model()
    price = find_price(default, kernel.config) if default else None
    configured = [
        {"model": model_id, **config_price(model_id, table).to_dict()}
        for model_id, table in sorted(kernel.config.section("prices").items())
        if isinstance(table, dict)
    ]
    if as_json:
        echo_json(
            {
                "default": default,
                "default_price": price.to_dict() if price is not None else None,
                "prices": configured,
                "providers": providers,
            }
        )
        return
    echo_table(
        [[p["name"], p["plugin"], p["description"]] for p in providers],
        ["PROVIDER", "PLUGIN", "DESCRIPTION"],
    )
    click.echo(f"default model: {default or '(none: use --model or set AUTOPLUG_MODEL)'}")
    if default:
        click.echo(f"price: {_price_line(price) if price else 'none (max_usd cannot apply)'}")
    for entry in configured:
        click.echo(f"[prices] {entry['model']}: {_price_line(entry)}")


def _price_line(price: Any) -> str:
    """``$0.15 in, $0.6 out, $0.075 cached in per million tokens (from SOURCE)``."""
    data = price if isinstance(price, dict) else price.to_dict()
    cached = data["cached_input_per_mtok"]
    cached_text = f", ${cached:g} cached in" if cached is not None else ""
    return (
        f"${data['input_per_mtok']:g} in, ${data['output_per_mtok']:g} out{cached_text} "
        f"per million tokens (from {data['source']})"
    )


@click.command("autos")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def autos_command(as_json: bool) -> None:
    """List the Auto types (runner, assistant, and any a plugin adds)."""
    kernel = get_kernel()
    autos = [
        {
            "name": name,
            "plugin": plugin,
            "description": (auto.__doc__ or "").strip().splitlines()[0] if auto.__doc__ else "",
        }
        for name, auto, plugin in kernel.autos.items()
    ]
    if as_json:
        echo_json(autos)
        return
    echo_table(
        [[a["name"], a["plugin"], a["description"]] for a in autos],
        ["AUTO", "PLUGIN", "DESCRIPTION"],
    )
