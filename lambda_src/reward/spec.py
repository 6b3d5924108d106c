"""Reward specs: TOML files of weighted dimensions, validated when loaded.

The same loader runs at synth time (the stacks), in the ``rft`` CLI and at Lambda init, so a spec that
loads here loads everywhere. Errors name the file and the field, and say what to write instead.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reward.graders import BUILTIN_GRADERS, grader_class
from reward.graders.base import Grader, ParamError

ERROR_POLICIES = ("exclude", "neutral", "floor")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

_SPEC_KEYS = {
    "name": "a short name for the spec (default: the file name)",
    "description": "free text",
    "on_error": f"what a status that is not the response's doing (no_reference, error, deadline) scores: {ERROR_POLICIES}",
    "max_response_chars": "responses longer than this are not parsed: status unscorable (default 100000)",
    "control_template": "how a reference answer is written as a response, e.g. 'Work.\\n#### {final_answer}'",
    "answer_after": "graders that read the declared answer see only what follows the last occurrence of this "
    "delimiter, e.g. '</think>'; a response without it is unscorable for them (default: the whole response)",
    "sample_timeout_s": "per-sample budget for heavy graders, seconds (default 5)",
    "deadline_margin_s": "answer the batch this long before the Lambda times out, seconds (default 10)",
    "dimensions": "the list of [[dimensions]] tables",
}
_DIMENSION_KEYS = {
    "name": "the dimension's name (letters, digits, _), reported as a Reward metric",
    "grader": "which grader scores it",
    "weight": "its weight in the aggregate (>= 0; default 1)",
    "gate": "name of another dimension that must pass for this one to pay",
    "pass_at": "credit (0..1) at or above which this dimension counts as passed (default 1.0)",
    "veto": "when true, failing this dimension forces the aggregate to -1",
    "on_error": "overrides the spec's on_error for this dimension",
    "params": "the grader's parameters (a table)",
}


class SpecError(ValueError):
    """A reward spec is invalid; the message names the file and field."""


@dataclass(frozen=True)
class Dimension:
    name: str
    grader: str
    weight: float
    params: Mapping[str, Any]
    gate: str | None = None
    pass_at: float = 1.0
    veto: bool = False
    on_error: str = "exclude"


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    dimensions: tuple[Dimension, ...]
    graders: tuple[Grader, ...] = field(repr=False, compare=False)
    description: str = ""
    on_error: str = "exclude"
    max_response_chars: int = 100_000
    control_template: str = ""
    answer_after: str = ""
    sample_timeout_s: float = 5.0
    deadline_margin_s: float = 10.0
    sha256: str = ""

    @property
    def graders_used(self) -> set[str]:
        return {d.grader for d in self.dimensions}

    @property
    def uses_judge(self) -> bool:
        """True when a dimension is graded by the LLM judge (Bedrock Converse): the reward Lambda then
        needs bedrock:InvokeModel on the judge model, and reports judge metrics."""
        return "judge" in self.graders_used

    @property
    def uses_code(self) -> bool:
        """True when a dimension runs the response's program (the `code` grader): the deployment then
        creates the network-isolated code-runner Lambda, and the reward Lambda may invoke it."""
        return "code" in self.graders_used

    @property
    def python_modules(self) -> set[str]:
        """Modules of custom graders this spec imports (they must be bundled with the Lambda)."""
        modules = set()
        for d in self.dimensions:
            target = d.params.get("function") if d.grader == "custom" else None
            if isinstance(target, str) and ":" in target:
                modules.add(target.split(":", 1)[0])
        return modules

    @property
    def heavy(self) -> bool:
        return any(g.heavy for g in self.graders)


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; raise ``SpecError`` naming the file and field."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: reward spec not found (see reward_specs/ for examples)") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read reward spec: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    spec = parse_spec(data, path)
    return _replace_sha(spec, hashlib.sha256(raw_bytes).hexdigest())


def parse_spec(data: Mapping[str, Any], path: Path = Path("<spec>")) -> Spec:
    """Validate an already-parsed spec table (the TOML document)."""
    where = str(path)
    _check_keys(data, _SPEC_KEYS, where)
    name = _typed(data, "name", str, where, path.stem)
    on_error = _choice(data, "on_error", ERROR_POLICIES, where, "exclude")
    max_chars = _typed(data, "max_response_chars", int, where, 100_000)
    if max_chars < 1:
        raise SpecError(f"{where}: max_response_chars must be >= 1, got {max_chars}")
    timeout = float(_typed(data, "sample_timeout_s", (int, float), where, 5.0))
    margin = float(_typed(data, "deadline_margin_s", (int, float), where, 10.0))
    if not 0 < timeout <= 900 or not 0 <= margin <= 900:
        raise SpecError(f"{where}: sample_timeout_s must be in (0, 900] and deadline_margin_s in [0, 900]")

    raw_dims = data.get("dimensions")
    if not isinstance(raw_dims, list) or not raw_dims:
        raise SpecError(f"{where}: needs at least one [[dimensions]] table (name, grader, weight, params)")
    dimensions: list[Dimension] = []
    graders: list[Grader] = []
    for i, raw in enumerate(raw_dims):
        dim_where = f"{where}: dimensions[{i}]"
        if not isinstance(raw, Mapping):
            raise SpecError(f"{dim_where}: must be a table")
        dim_name = raw.get("name")
        if not isinstance(dim_name, str) or not _NAME.fullmatch(dim_name):
            raise SpecError(
                f"{dim_where}.name: must be letters, digits or _ (starting with a letter), got {dim_name!r}"
            )
        dim_where = f"{where}: dimensions[{i}] ({dim_name})"
        _check_keys(raw, _DIMENSION_KEYS, dim_where)
        if any(d.name == dim_name for d in dimensions):
            raise SpecError(f"{dim_where}.name: duplicate dimension name {dim_name!r}")
        grader_name = raw.get("grader")
        if grader_name not in BUILTIN_GRADERS:
            hint = difflib.get_close_matches(str(grader_name), list(BUILTIN_GRADERS), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise SpecError(
                f"{dim_where}.grader: unknown grader {grader_name!r}{suggestion}; "
                f"available: {', '.join(sorted(BUILTIN_GRADERS))}"
            )
        weight = float(_typed(raw, "weight", (int, float), dim_where, 1.0))
        if weight < 0 or weight != weight or weight == float("inf"):
            raise SpecError(f"{dim_where}.weight: must be a finite number >= 0, got {weight}")
        pass_at = float(_typed(raw, "pass_at", (int, float), dim_where, 1.0))
        if not 0 <= pass_at <= 1:
            raise SpecError(f"{dim_where}.pass_at: must be between 0 and 1, got {pass_at}")
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            raise SpecError(f"{dim_where}.params: must be a table")
        try:
            grader = grader_class(grader_name).from_params(params)
        except ParamError as exc:
            raise SpecError(f"{dim_where}.params.{exc.key}: {exc}") from None
        except ImportError as exc:
            raise SpecError(f"{dim_where}.grader: cannot load grader {grader_name!r}: {exc}") from None
        dimensions.append(
            Dimension(
                name=dim_name,
                grader=grader_name,
                weight=weight,
                params=dict(params),
                gate=_typed(raw, "gate", str, dim_where, None),
                pass_at=pass_at,
                veto=_typed(raw, "veto", bool, dim_where, False),
                on_error=_choice(raw, "on_error", ERROR_POLICIES, dim_where, on_error),
            )
        )
        graders.append(grader)

    names = [d.name for d in dimensions]
    for i, d in enumerate(dimensions):
        if d.gate is None:
            continue
        if d.gate == d.name or d.gate not in names:
            raise SpecError(
                f"{where}: dimensions[{i}] ({d.name}).gate: {d.gate!r} is not another dimension; "
                f"choose one of {', '.join(n for n in names if n != d.name)}"
            )
    _check_gate_cycles(dimensions, where)
    if sum(d.weight for d in dimensions) <= 0:
        raise SpecError(f"{where}: the dimensions' weights sum to 0; give at least one a positive weight")

    template = _typed(data, "control_template", str, where, "")
    answer_after = _typed(data, "answer_after", str, where, "")
    if "answer_after" in data and not answer_after.strip():
        raise SpecError(
            f"{_at(where, 'answer_after')}: must not be empty or blank (leave it out to read the whole response)"
        )
    return Spec(
        path=path,
        name=name,
        dimensions=tuple(dimensions),
        graders=tuple(graders),
        description=_typed(data, "description", str, where, ""),
        on_error=on_error,
        max_response_chars=max_chars,
        control_template=template,
        answer_after=answer_after,
        sample_timeout_s=timeout,
        deadline_margin_s=margin,
    )


def _replace_sha(spec: Spec, sha: str) -> Spec:
    from dataclasses import replace

    return replace(spec, sha256=sha)


def _at(where: str, key: str) -> str:
    """Where ``key`` is: ``spec.toml: on_error`` at the top, ``spec.toml: dimensions[0] (x).params.y`` below."""
    return f"{where}.{key}" if ": " in where else f"{where}: {key}"


def _check_keys(table: Mapping[str, Any], known: Mapping[str, str], where: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SpecError(f"{where}: unknown key {key!r}; {hint}allowed: {', '.join(known)}")


def _typed(table: Mapping[str, Any], key: str, types: Any, where: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and types is not bool:
        raise SpecError(f"{_at(where, key)}: expected {_type_name(types)}, got {value!r}")
    if not isinstance(value, types):
        raise SpecError(f"{_at(where, key)}: expected {_type_name(types)}, got {value!r}")
    return value


def _choice(table: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str, default: str) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise SpecError(f"{_at(where, key)}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _type_name(types: Any) -> str:
    if isinstance(types, tuple):
        return "a number" if float in types else " or ".join(t.__name__ for t in types)
    return {str: "a string", bool: "true or false", int: "an integer"}.get(types, types.__name__)


def _check_gate_cycles(dimensions: list[Dimension], where: str) -> None:
    gates = {d.name: d.gate for d in dimensions}
    for start in gates:
        seen = {start}
        current = gates[start]
        while current is not None:
            if current in seen:
                raise SpecError(f"{where}: gates form a cycle through {start!r}; a gate chain must end")
            seen.add(current)
            current = gates.get(current)
