"""``json``: the response is one JSON value, optionally valid against a JSON Schema, and its fields match
the reference object.

Formula:
- no JSON value found (neither the whole response nor one fenced block) is ``unscorable``;
- two or more fenced JSON blocks, duplicate keys in an object, NaN/Infinity, or a schema violation
  (when ``schema`` is set) score 0 — one unambiguous, valid answer or no credit;
- ``compare = "none"``: credit 1 (a valid, schema-conforming value is all that is asked);
- ``compare = "exact"``: credit 1 when every compared field matches, else 0;
- ``compare = "fields"``: credit = mean over compared fields of each field's credit.

Where the JSON is read: the whole response (``{...}``, ``[...]``, any JSON value), or the single fenced
block (```` ```json ... ``` ```` or an untagged ```` ``` ```` fence) in it, with prose around the block
allowed unless ``allow_prose = false`` (then padding around the block makes it ``unscorable``: use that
on a format dimension when the prompt asks for JSON only). A value nested deeper than ``max_depth`` is
treated as invalid JSON.

Compared fields: every key of the reference object, each with its mode from ``fields`` (default
``default_mode``). Modes: ``exact`` (JSON equality: ``1 == 1.0``, but ``true != 1``), ``normalized``
(strings compared case-folded with whitespace and punctuation normalized; other values exactly),
``similarity`` (token F1 of the two strings: partial credit; in ``compare = "exact"`` it counts as a
match at ``similarity_pass`` or above), ``ignore`` (not compared). A field missing from the response
scores 0. With ``extra_keys = "forbid"`` each response key absent from the reference adds a failed
field. The reference is the row's ``reference_answer`` object (or a string holding JSON), or its
``reference_key`` sub-object. docs/contract.md's ``{"compliant": "No", "explanation": "..."}`` reference
is graded with ``fields = {compliant = "exact", explanation = "similarity"}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.strict_json import JsonRejected, strict_loads
from reward.text import has_content, normalize, token_f1

FieldMode = Literal["exact", "normalized", "similarity", "ignore"]
FIELD_MODES: tuple[str, ...] = ("exact", "normalized", "similarity", "ignore")

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)


class JsonProblem(ValueError):
    """The response holds no single valid JSON value; ``kind`` is "none" or "ambiguous"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class JsonParams:
    compare: Literal["none", "exact", "fields"] = "fields"
    schema: dict[str, Any] | None = None  # a JSON Schema (as a TOML table)
    fields: dict[str, Any] = field(default_factory=dict)  # field name -> mode
    default_mode: FieldMode = "exact"  # mode of reference fields not listed in ``fields``
    similarity_pass: float = 0.5  # a "similarity" field counts as a match at or above this (exact mode)
    extra_keys: Literal["allow", "forbid"] = "allow"
    reference_key: str = ""  # compare against reference_answer[reference_key] instead of the whole object
    allow_fenced: bool = True  # accept one ```json fenced block instead of a bare JSON response
    allow_prose: bool = True  # text around that fenced block is allowed (false: only whitespace)
    max_depth: int = 64

    def __post_init__(self) -> None:
        for name, mode in self.fields.items():
            if mode not in FIELD_MODES:
                raise ParamError(
                    "fields", f"fields.{name} = {mode!r}: mode must be one of {', '.join(FIELD_MODES)}"
                )
        if not 0 <= self.similarity_pass <= 1:
            raise ParamError("similarity_pass", "'similarity_pass' must be between 0 and 1")
        if self.max_depth < 1:
            raise ParamError("max_depth", "'max_depth' must be >= 1")
        every_field_ignored = self.default_mode == "ignore" and all(
            m == "ignore" for m in self.fields.values()
        )
        if self.compare != "none" and every_field_ignored:
            raise ParamError("fields", 'every field is ignored: nothing to compare (use compare = "none")')
        if self.schema is not None:
            check_schema(self.schema)


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ParamError("schema", ...)`` when ``schema`` is not a valid JSON Schema."""
    from jsonschema import exceptions, validators  # lazy: only specs with a schema pay for the import

    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ParamError("schema", f"not a valid JSON Schema at {where}: {exc.message}") from None


class JsonGrader(Grader):
    name = "json"
    Params = JsonParams
    reads_answer = True

    def __init__(self, params: JsonParams) -> None:
        super().__init__(params)
        self.needs_reference = params.compare != "none"  # type: ignore[misc]
        self._validator = None
        if params.schema is not None:
            from jsonschema import validators

            self._validator = validators.validator_for(params.schema)(params.schema)

    def grade(self, sample: Sample) -> Grade:
        p: JsonParams = self.params
        expected: Any = None
        if p.compare != "none":
            expected = _reference_object(sample.reference, p.reference_key)
            if expected is None:
                return Grade.no_reference("reference_answer holds no JSON value to compare with")
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        try:
            value = extract_json(
                text, allow_fenced=p.allow_fenced, allow_prose=p.allow_prose, max_depth=p.max_depth
            )
        except JsonProblem as exc:
            if exc.kind == "none":
                return Grade.unscorable(str(exc))
            return Grade.wrong(str(exc))
        if self._validator is not None:
            problem = _schema_problem(self._validator, value)
            if problem:
                return Grade.wrong(f"schema: {problem}", schema_valid=0.0)
        if p.compare == "none":
            return Grade.right()
        return _compare(value, expected, p)


def extract_json(
    text: str, *, allow_fenced: bool = True, allow_prose: bool = True, max_depth: int = 64
) -> Any:
    """The one JSON value a response holds: the whole text, else its single fenced block.

    Raises ``JsonProblem("none", ...)`` when there is none (or, with ``allow_prose = False``, when text
    surrounds the fenced block) and ``JsonProblem("ambiguous", ...)`` for several fenced blocks,
    duplicate keys, NaN/Infinity or nesting deeper than ``max_depth``.
    """
    stripped = text.strip()
    if not stripped:
        raise JsonProblem("none", "empty response")
    try:
        return _loads(stripped, max_depth)
    except JsonProblem as exc:
        if exc.kind != "none":
            raise
    if not allow_fenced or "```" not in text:
        raise JsonProblem("none", "the response is not a JSON value")
    blocks = list(_FENCE.finditer(text))
    if not blocks:
        raise JsonProblem("none", "no JSON value and no fenced ```json block")
    if len(blocks) > 1:
        raise JsonProblem("ambiguous", f"{len(blocks)} fenced blocks: answer with exactly one JSON value")
    block = blocks[0]
    if not allow_prose and (text[: block.start()].strip() or text[block.end() :].strip()):
        raise JsonProblem("none", "text around the fenced JSON block: answer with the JSON value only")
    return _loads(block.group(1).strip(), max_depth)


def _loads(text: str, max_depth: int) -> Any:
    try:
        return strict_loads(text, max_depth=max_depth)
    except JsonRejected as exc:
        raise JsonProblem(exc.kind, str(exc)) from None


def _schema_problem(validator: Any, value: Any) -> str:
    try:
        error = next(iter(validator.iter_errors(value)), None)
    except RecursionError:
        return "value too deeply nested to validate"
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:160]}"


def _reference_object(reference: Any, key: str) -> Any:
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except (ValueError, RecursionError):
            return None
    if key:
        if not isinstance(reference, Mapping) or key not in reference:
            return None
        reference = reference[key]
    return reference


def _compare(value: Any, expected: Any, p: JsonParams) -> Grade:
    if not isinstance(expected, Mapping):
        # A scalar or list reference: the whole value is the one field.
        return (
            Grade.right() if json_equal(value, expected) else Grade.wrong("value differs from the reference")
        )
    if not isinstance(value, Mapping):
        return Grade.wrong(f"expected a JSON object, got {type(value).__name__}")
    credits: dict[str, float] = {}
    for name, want in expected.items():
        mode = p.fields.get(name, p.default_mode)
        if mode == "ignore":
            continue
        credits[name] = field_credit(value[name], want, mode) if name in value else 0.0
    if p.extra_keys == "forbid":
        for name in value:
            if name not in expected:
                credits[name] = 0.0
    if not credits:
        return Grade.no_reference("no reference field is compared (all ignored)")
    failed = sorted(n for n, c in credits.items() if c < 1.0)
    reason = ("fields off: " + ", ".join(n[:40] for n in failed[:10])) if failed else ""
    if p.compare == "exact":
        passed = all(
            c >= (p.similarity_pass if p.fields.get(n, p.default_mode) == "similarity" else 1.0)
            for n, c in credits.items()
        )
        return Grade.right() if passed else Grade.wrong(reason)
    return Grade.partial(
        sum(credits.values()) / len(credits), reason, fields_matched=len(credits) - len(failed)
    )


def field_credit(got: Any, want: Any, mode: str) -> float:
    """Credit in [0, 1] for one field under ``mode`` (see the module docstring)."""
    if mode == "similarity":
        if isinstance(got, str) and isinstance(want, str):
            return token_f1(got, want)
        return 1.0 if json_equal(got, want) else 0.0
    if mode == "normalized" and isinstance(got, str) and isinstance(want, str):
        a, b = normalize(got, punctuation=True), normalize(want, punctuation=True)
        return 1.0 if a and a == b else 0.0
    return 1.0 if json_equal(got, want) else 0.0


def json_equal(a: Any, b: Any, _depth: int = 0) -> bool:
    """JSON-value equality: numbers by value (``1 == 1.0``), booleans distinct from numbers."""
    if _depth > 200:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and not (isinstance(a, float) and math.isnan(a))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k], _depth + 1) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y, _depth + 1) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
