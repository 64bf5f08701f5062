"""``autoplug plugins``, ``tools``, ``tools show``, ``tools call``, ``models`` and ``autos``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import describe_error
from ..schema import json_type
from ..tools import CallContext
from . import echo_json, echo_table, fail, get_kernel
from .stdout import terminal_columns

#: What to do about a refused side-effect tool (printed on stderr, never sent to the model).
APPROVE_HINT = (
    "tools with side effects run only when approved: add --yes, or answer yes on a terminal"
)


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
        "unusable": tool.unusable,
    }


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, the cut marked "…".

    A single word longer than the room is cut inside it (there is no boundary).
    """
    if len(text) <= width:
        return text
    head = text[: max(width, 1) - 1]
    if text[len(head)] != " ":  # the cut falls inside a word: drop that word
        space = head.rfind(" ")
        if space > 0:
            head = head[:space]
    return head.rstrip() + "…"


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0].strip() if text and text.strip() else ""


@click.group("tools", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def tools_group(ctx: click.Context, as_json: bool) -> None:
    """List every tool; `tools show NAME` shows one, `tools call NAME` calls one."""
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
        flag = " [side effects]" if t["side_effects"] else ""
        if t["unusable"] is not None:
            flag += f" [unusable: {t['unusable']}]"
        rows.append([t["name"], t["plugin"], f"({params})", _first_line(t["description"]), flag])
    # The description takes what the other columns leave of the terminal (at least 20).
    used = [
        max([len(h), *(len(str(r[i])) for r in rows)])
        for i, h in enumerate(("NAME", "PLUGIN", "ARGS"))
    ]
    width = terminal_columns()
    for row in rows:
        room = max(20, width - sum(used) - 2 * 3 - len(row[4]))
        row[3:] = [fit(row[3], room) + row[4]]
    echo_table(rows, ["NAME", "PLUGIN", "ARGS", "DESCRIPTION"])


@tools_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the tool as one JSON object.")
def tools_show(name: str, as_json: bool) -> None:
    """Show one tool: its whole description and each parameter's type and description.

    The JSON object is the tool's entry of `autoplug tools --json`. Exit 2 for
    an unknown tool.
    """
    kernel = get_kernel()
    found = kernel.tools.get(name)
    if found is None:
        fail(kernel.tools.unknown_error(name), 2)
    entry = _tool_dict(kernel, found)
    if as_json:
        echo_json(entry)
        return
    for line in describe_tool(entry):
        click.echo(line)


def describe_tool(entry: dict[str, Any]) -> list[str]:
    """The lines ``tools show`` prints for one ``tools --json`` entry."""
    import textwrap

    lines = [f"{entry['name']} ({entry['qualified_name']}, plugin {entry['plugin']})"]
    if entry["side_effects"]:
        lines.append("side effects: yes (needs approval: --yes, or a yes on a terminal)")
    if entry["unusable"] is not None:
        lines.append(f"unusable: {entry['unusable']}")
    lines.append("")
    lines += [
        line.rstrip() for line in (entry["description"] or "(no description)").strip().splitlines()
    ]
    params = entry["parameters"]
    properties = params.get("properties", {}) if isinstance(params, dict) else {}
    required = set(params.get("required", [])) if isinstance(params, dict) else set()
    lines += ["", "parameters:" if properties else "parameters: none"]
    for pname, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        kind = _type_text(spec)
        need = "required" if pname in required else "optional"
        default = (
            f", default {json.dumps(spec['default'], ensure_ascii=False)}"
            if "default" in spec
            else ""
        )
        lines.append(f"  {pname} ({kind}, {need}{default})")
        text = " ".join(str(spec.get("description", "")).split())
        if text:
            lines += textwrap.wrap(
                text, width=76, initial_indent="      ", subsequent_indent="      "
            )
    return lines


def _type_text(spec: dict[str, Any]) -> str:
    """A parameter's type as a reader says it: ``string``, ``array of integer``, ``one of a, b``."""
    if "enum" in spec:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in spec["enum"])
    kind = spec.get("type")
    if isinstance(kind, list):
        return " or ".join(map(str, kind))
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"array of {_type_text(spec['items'])}"
    if kind is None:
        for key in ("anyOf", "oneOf"):
            if isinstance(spec.get(key), list):
                return " or ".join(_type_text(s) for s in spec[key] if isinstance(s, dict))
        return "any" if "$ref" not in spec else f"see {spec['$ref']}"
    return str(kind)


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
        if result.kind == "refused":
            click.echo(f"hint: {APPROVE_HINT}", err=True)
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
