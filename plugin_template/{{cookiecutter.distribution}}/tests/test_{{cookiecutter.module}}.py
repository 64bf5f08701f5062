"""Tests of the {{ cookiecutter.slug }} plugin, through the same door a model's calls take."""

from __future__ import annotations

from autoplug.testing import AGENT_BUILTINS, call_tool, installed_plugin, one_step_script

import {{ cookiecutter.module }} as plugin

# The plugin's name: its entry point in pyproject.toml.
PLUGIN_NAME = "{{ cookiecutter.slug }}"


def test_word_stats_counts_words(autoplug_kernel):
    kernel = autoplug_kernel()
    text = "The cat saw the other cat. The end."
    value = call_tool(kernel, "word_stats", {"text": text, "top": 2})
    assert value == {
        "words": 8,
        "distinct": 5,
        "top": [{"word": "the", "count": 3}, {"word": "cat", "count": 2}],
    }


def test_word_stats_defaults_top_to_three(autoplug_kernel):
    value = call_tool(autoplug_kernel(), "word_stats", {"text": "a b c d"})
    assert [entry["word"] for entry in value["top"]] == ["a", "b", "c"]


def test_word_stats_rejects_text_of_the_wrong_type(autoplug_kernel):
    result = autoplug_kernel().tools.call("word_stats", {"text": 42})
    assert not result.ok
    assert result.kind == "invalid_args"
    assert [path for path, _ in result.violations] == ["$.text"]
    assert "word_stats" in result.error and "$.text" in result.error


def test_word_stats_rejects_a_missing_text(autoplug_kernel):
    result = autoplug_kernel().tools.call("word_stats", {"top": 1})
    assert result.kind == "invalid_args"
    assert "'text' is a required property" in result.error


def test_word_stats_rejects_an_unknown_argument(autoplug_kernel):
    result = autoplug_kernel().tools.call("word_stats", {"text": "hi", "colour": "red"})
    assert result.kind == "invalid_args"
    assert "colour" in result.error


def test_word_stats_fails_cleanly_when_top_is_below_one(autoplug_kernel):
    result = autoplug_kernel().tools.call("word_stats", {"text": "hi", "top": 0})
    assert result.kind == "tool_error"
    assert "top must be at least 1, got 0" in result.error


def test_word_stats_is_listed_with_its_schema(autoplug_kernel):
    # Found by name, so the test still holds when the plugin gains more tools.
    listed = autoplug_kernel().tools.get("word_stats")
    assert listed is not None, "the plugin registers no tool named word_stats"
    assert listed.name == "word_stats"
    assert listed.plugin == plugin.__name__
    assert listed.description == "Count the words of a text and name the most frequent ones."
    assert not listed.side_effects
    assert listed.parameters == {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "the text to analyse"},
            "top": {
                "type": "integer",
                "description": "how many of the most frequent words to return (at least 1)",
                "default": 3,
            },
        },
        "required": ["text"],
        "additionalProperties": False,
    }


def test_the_plugin_registers_without_errors(autoplug_kernel):
    kernel = autoplug_kernel()
    info = kernel.plugins[plugin.__name__]
    assert info.status == "loaded", info.error
    assert info.hooks == ["register_tools"]


def test_the_entry_point_names_this_module():
    # Needs the project installed (pip install -e '.[test]'), as autoplug users will have it.
    assert installed_plugin(PLUGIN_NAME) is plugin


def test_an_agent_uses_word_stats(autoplug_kernel, scripted_model, tmp_path):
    # The model's choices are scripted; the plan, the tool call and the report are real.
    kernel = autoplug_kernel(builtins=list(AGENT_BUILTINS))
    model = scripted_model(
        one_step_script(
            "word_stats",
            {"text": "zebra lion zebra", "top": 1},
            answer="The most frequent word is 'zebra'.",
            output="stats",
        )
    )
    run = kernel.run("Which word comes up most often?", model=model, workspace=tmp_path)
    assert run.status == "succeeded", run.reason
    assert run.answer == "The most frequent word is 'zebra'."
    assert "stats" in [asset["name"] for asset in run.assets]
    # The report the agent read after `act` holds the tool's output.
    last_prompt = str(model.requests[-1].to_dict()["messages"])
    assert "distinct" in last_prompt and "zebra" in last_prompt
