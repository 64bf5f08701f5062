"""Structured output: the answer of a run in a shape the caller chose (DESIGN "Structured output").

``kernel.run(task, output_schema=SCHEMA)`` — a JSON Schema dict, or a pydantic
model class — makes the dynamic agent's ``final`` function take that schema as
its ``answer``. The schema's ``$defs`` (and ``definitions``) are hoisted to the
function's parameters root and its other local ``$ref``s are rewritten to point
under ``properties/answer``, so references such as pydantic's ``#/$defs/X``
still resolve. An answer that breaks the schema goes back to the model with its
violations (JSON paths), bounded by ``[limits] output_repairs``.

The schema is saved in the run folder (``output_schema.json``), so a resumed run
keeps it. jsonschema is imported only inside the functions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .llm import FunctionSpec
from .safejson import value_problem

SCHEMA_FILE = "output_schema.json"
FINAL_DESCRIPTION = (
    "Give the final answer to the task; this ends the run. The answer must match "
    "the output schema given as the answer's parameter."
)
_HOISTED = ("$defs", "definitions")
# Keywords whose values are data, never subschemas: a "$ref" key inside them is a value.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "description", "title"})
# Keywords whose value maps names to subschemas.
_NAMED = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)


@dataclass(frozen=True)
class OutputSchema:
    """A checked output schema: the JSON Schema, the ``final`` function it makes, its model class.

    Build one with :func:`output_schema_from`. ``model`` is the pydantic model
    class the schema came from (None for a plain dict).
    """

    schema: dict[str, Any]
    model: Any = None
    final: FunctionSpec = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "final", final_function(self.schema))

    def violations(self, arguments: dict[str, Any]) -> list[tuple[str, str]]:
        """``(json_path, message)`` of each way ``final``'s arguments break the schema."""
        validator = _validator(self.final.parameters, self.schema)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
        found = [(e.json_path, e.message) for e in errors]
        if found or self.model is None:
            return found
        # A model's own validators check more than its JSON schema says.
        try:
            self.model.model_validate(arguments["answer"])
        except Exception as exc:
            details = getattr(exc, "errors", None)
            if not callable(details):
                raise
            return [(_json_path(e.get("loc", ())), str(e.get("msg"))) for e in details()]
        return []

    def value(self, answer: Any) -> Any:
        """The caller's value of a valid answer: the model instance for a pydantic model."""
        if self.model is None:
            return answer
        return self.model.model_validate(answer)


_validators: dict[str, Any] = {}


def _json_path(loc: Any) -> str:
    """A pydantic error location as a JSON path under ``$.answer``."""
    path = "$.answer"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _validator(parameters: dict[str, Any], original: dict[str, Any]) -> Any:
    """A validator of ``parameters`` in ``original``'s dialect (cached by content)."""
    from .schemacheck import validator_class

    key = json.dumps([parameters, original.get("$schema")], sort_keys=True)
    found = _validators.get(key)
    if found is None:
        from referencing import Registry

        cls, _ = validator_class(original)
        if len(_validators) >= 64:  # an Assistant may take a new schema each message
            _validators.clear()
        found = _validators[key] = cls(parameters, registry=Registry())
    return found


def _is_pydantic_model(obj: Any) -> bool:
    return isinstance(obj, type) and callable(getattr(obj, "model_json_schema", None))


def output_schema_from(obj: Any) -> OutputSchema | None:
    """A checked :class:`OutputSchema` from a JSON Schema dict or a pydantic model class.

    None stays None. Raises :class:`UsageError` with one line naming what is
    wrong: not a dict or model class, not JSON, an unknown dialect, a schema its
    dialect's meta-schema rejects, a bad ``pattern`` or an unresolvable ``$ref``.
    """
    if obj is None or isinstance(obj, OutputSchema):
        return obj
    model = None
    if _is_pydantic_model(obj):
        model, obj = obj, obj.model_json_schema()
    if not isinstance(obj, dict):
        raise UsageError(
            "output_schema must be a JSON Schema (a dict) or a pydantic model class, "
            f"not {type(obj).__name__}"
        )
    problem = value_problem(obj)
    if problem is not None:
        raise UsageError(f"output_schema is not JSON: {problem}")
    check_schema(obj)
    return OutputSchema(obj, model)


def check_schema(schema: dict[str, Any]) -> None:
    """Raise :class:`UsageError` when ``schema`` is not a usable JSON Schema in its dialect."""
    from jsonschema.exceptions import SchemaError

    from .schemacheck import schema_fault, validator_class

    cls, fault = validator_class(schema)
    fault = fault or schema_fault(schema)  # its messages say more than the meta-schema's
    if fault is None:
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            where = "/" + "/".join(str(p) for p in exc.absolute_path)
            fault = f"schema path {where}: {exc.message[:300]}"
    fault = fault or schema_fault(final_function(schema).parameters)
    if fault is not None:
        raise UsageError(f"invalid output schema: {fault}")


def _rewrite(node: Any, prefix: str, names: bool = False) -> Any:
    """``node`` with each local ``$ref`` outside the hoisted definitions moved under ``prefix``.

    ``names``: ``node``'s keys are property or definition names, each a subschema
    (a property may well be called ``title`` or ``$ref``).
    """
    if isinstance(node, list):
        return [_rewrite(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if names:
            out[key] = _rewrite(value, prefix)
        elif key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = _moved(value, prefix)
        elif key in _DATA_KEYWORDS:
            out[key] = value
        else:
            out[key] = _rewrite(value, prefix, key in _NAMED)
    return out


def _moved(ref: str, prefix: str) -> str:
    pointer = ref[1:]
    if any(pointer == f"/{k}" or pointer.startswith(f"/{k}/") for k in _HOISTED):
        return ref  # the definitions sit at the same place in the parameters root
    return "#" + prefix + pointer


def final_function(schema: dict[str, Any]) -> FunctionSpec:
    """The ``final`` function whose ``answer`` takes ``schema``, its definitions hoisted."""
    prefix = "/properties/answer"
    answer = {k: v for k, v in schema.items() if k not in _HOISTED and k not in ("$schema", "$id")}
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"answer": _rewrite(answer, prefix)},
        "required": ["answer"],
        "additionalProperties": False,
    }
    for key in _HOISTED:
        if isinstance(schema.get(key), dict):
            parameters[key] = _rewrite(schema[key], prefix, names=True)
    return FunctionSpec(name="final", description=FINAL_DESCRIPTION, parameters=parameters)


def answer_text(value: Any) -> str:
    """The run's ``answer``: the JSON text of the validated value."""
    return json.dumps(value, ensure_ascii=False)


def save_schema(folder: Path, schema: dict[str, Any]) -> None:
    """Keep ``schema`` in the run ``folder`` (written whole, then renamed into place)."""
    path = Path(folder) / SCHEMA_FILE
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    os.replace(staging, path)


def saved_schema(folder: Path) -> dict[str, Any] | None:
    """The output schema saved in the run ``folder``, or None when the run had none."""
    path = Path(folder) / SCHEMA_FILE
    if not path.is_file():
        return None
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        from .errors import RunError

        raise RunError(f"the run's output schema {path} cannot be read: {exc}") from None
    return schema if isinstance(schema, dict) else None


def load_schema_file(path: str) -> dict[str, Any]:
    """The JSON Schema in file ``path`` (``--output-schema``); UsageError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output-schema {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--output-schema {path}: not UTF-8 text: {exc.reason}") from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--output-schema {path}: not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"--output-schema {path}: a JSON Schema must be an object")
    problem = value_problem(schema)
    if problem is not None:
        raise UsageError(f"--output-schema {path}: not usable JSON: {problem}")
    try:
        check_schema(schema)
    except UsageError as exc:
        raise UsageError(f"--output-schema {path}: {exc}") from None
    return schema
