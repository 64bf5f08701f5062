"""{{ (cookiecutter.plugin_name ~ ": " ~ cookiecutter.description) | replace("\\", "/") | replace('"', "'") }}

An autoplug plugin. autoplug finds it through the entry point
``{{ cookiecutter.slug }} = "{{ cookiecutter.module }}"`` in pyproject.toml and calls
the hook implementations below (functions marked ``@hookimpl``).

Replace the example tool with your own: every tool is a typed, documented
function. ``@tool`` reads its JSON Schema from the type hints and its
descriptions from the docstring (the text before the ``name: description``
lines describes the tool; each such line describes one parameter), and every
call, whether from a model, ``autoplug tools call`` or your tests, is validated
against that schema before the function runs.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from autoplug import hookimpl, tool

# A word: letters, with inner apostrophes or hyphens ("don't", "well-known").
WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


@tool
def word_stats(text: str, top: int = 3) -> dict[str, Any]:
    """Count the words of a text and name the most frequent ones.

    text: the text to analyse
    top: how many of the most frequent words to return (at least 1)
    """
    # The schema already guarantees the types; rules it cannot express are
    # checked here, and an exception becomes a failed ToolResult naming this tool.
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    words = [word.lower() for word in WORD.findall(text)]
    counts = Counter(words)
    return {
        "words": len(words),
        "distinct": len(counts),
        "top": [{"word": word, "count": n} for word, n in counts.most_common(top)],
    }


@hookimpl
def register_tools(register: Any) -> None:
    """Give autoplug this plugin's tools."""
    register(word_stats)


# Other hooks a plugin can implement (each is documented, with an example, in
# autoplug's docs/plugins.md; write only the ones you need):
#
#   register_models(register)            a model provider, used as "prefix:model"
#   register_embedders(register)         an embedder factory for long-term memory
#   register_memory_backends(register)   a memory-backend factory
#   register_autos(register)             an Auto subclass (an agent type)
#   register_commands(cli)               click commands under `autoplug`
#   before_tool_call(call, context)      inspect, answer or refuse (raise ToolRefused) a call
#   after_tool_call(call, result, context)   observe every call and its result
#   on_event(event)                      observe every event of a run (must not block)
#
# A tool that changes something outside the run (writes files, posts, pays) is
# declared with @tool(side_effects=True): it runs only when the user approves it.
# A tool that declares a keyword-only `context: CallContext` parameter receives
# the run's ids and workspace folder.
