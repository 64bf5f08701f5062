"""``autoplug memory search``, ``list``, ``forget``, ``prune`` and ``stats``.

Times are printed as ISO 8601 UTC. Searching from the command line neither
counts as an access of what it finds nor loads anything on an empty store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from . import echo_json, echo_table, fail, get_kernel


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(memory_group)


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _memory() -> Any:
    from ..memory import load_memory

    return load_memory(get_kernel())


@click.group("memory")
def memory_group() -> None:
    """Long-term memory: what past runs stored, scored by similarity, importance and recency."""


@memory_group.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option(
    "-k",
    "k",
    type=int,
    default=None,
    help="How many memories to show (default: [memory] top_k).",
)
def search_command(query: str, as_json: bool, k: int | None) -> None:
    """Show the memories that best match QUERY, best first, with the parts of their score."""
    if k is not None and k < 1:
        fail(f"-k must be a positive integer, got {k}", 2)
    if not query.strip():
        fail("QUERY is empty: give the text to search for", 2)
    found = _memory().search(query, k)
    if as_json:
        echo_json([{**m.to_dict(), "created": iso(m.created)} for m in found])
        return
    if not found:
        click.echo("no memories found", err=True)
        return
    rows = [
        [
            m.id,
            f"{m.score:.3f}",
            f"{m.similarity:.2f}/{m.importance:.2f}/{m.recency:.2f}",
            m.kind,
            _short(m.text, 60),
        ]
        for m in found
    ]
    echo_table(rows, ["ID", "SCORE", "SIM/IMP/REC", "KIND", "TEXT"])


def _record_dict(record: Any) -> dict[str, Any]:
    data = record.to_dict()
    data["created"] = iso(record.created)
    data["last_access"] = iso(record.last_access)
    return data


@memory_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_command(as_json: bool) -> None:
    """List the memories of the current embedder, newest first."""
    records = _memory().list()
    if as_json:
        echo_json([_record_dict(r) for r in records])
        return
    if not records:
        click.echo("no memories stored", err=True)
        return
    rows = [
        [
            r.id,
            iso(r.created),
            r.kind,
            f"{r.importance:.2f}",
            str(r.access_count),
            _short(r.text, 60),
        ]
        for r in records
    ]
    echo_table(rows, ["ID", "CREATED", "KIND", "IMPORTANCE", "ACCESSES", "TEXT"])


@memory_group.command("forget")
@click.argument("memory_id", metavar="ID")
def forget_command(memory_id: str) -> None:
    """Delete the memory ID (from whichever embedder's table holds it)."""
    if not _memory().forget(memory_id):
        fail(f"no memory with id {memory_id!r} (see `autoplug memory list`)", 2)
    click.echo(f"forgot {memory_id}")


@memory_group.command("prune")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def prune_command(as_json: bool) -> None:
    """Apply the capacity and age policy ([memory] capacity, max_age_days); say what went.

    Memories unused for more than max_age_days go unless their importance is at
    least 0.8; then, over capacity, those with the lowest importance and recency.
    """
    memory = _memory()
    pruned = memory.prune()
    remaining = memory.backend.count() if not memory.backend.is_empty() else 0
    if as_json:
        echo_json(
            {
                "removed": [{**_record_dict(p.record), "reason": p.reason} for p in pruned],
                "remaining": remaining,
            }
        )
        return
    for p in pruned:
        click.echo(f"removed {p.record.id} ({p.reason}): {_short(p.record.text, 60)}")
    click.echo(f"pruned {len(pruned)} memories; {remaining} remain")


@memory_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def stats_command(as_json: bool) -> None:
    """Which backend and embedder are in use, and how many memories each embedder's table holds."""
    stats = _memory().stats()
    if as_json:
        echo_json(stats)
        return
    click.echo(f"backend:  {stats['backend']} ({stats['location']})")
    click.echo(f"embedder: {stats['embedder']} ({stats['dimension']} dimensions)")
    click.echo(f"memories: {stats['count']} in table {stats['table']}")
    others = [t for t in stats["tables"] if not t["current"]]
    if others:
        click.echo(
            "stored by other embedders (not searched; switch [memory] embedder to use them):"
        )
        for t in others:
            click.echo(
                f"  {t['table']}: {t['count']} ({t['embedder']}, {t['dimension']} dimensions)"
            )
