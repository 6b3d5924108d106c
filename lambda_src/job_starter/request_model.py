"""The CreateModelCustomizationJob request shape, read from botocore's bundled Bedrock service model.

Everything here comes from the same model the AWS SDK signs requests with, so ranges, enums and name
patterns cannot drift from the API. botocore's own validator (``validate_parameters``) checks required
members, types, unknown keys, unions and *minimums* offline, but it silently skips *maximums*, *enums* and
*patterns*; :func:`check_request` adds those, so a request that passes it is one Bedrock's front door will
not reject for its shape.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

SERVICE = "bedrock"
OPERATION = "CreateModelCustomizationJob"
_HYPERPARAMETERS_PATH = ("customizationConfig", "rftConfig", "hyperParameters")


@dataclass(frozen=True)
class Constraint:
    """What the service model allows for one member.

    ``min``/``max`` are value bounds for numbers and length bounds for strings, lists and maps (the
    service model uses the same two keys for both). ``pattern`` must match the *whole* string.
    """

    type_name: str
    min: float | None
    max: float | None
    enum: tuple[str, ...]
    pattern: str | None

    def describe(self) -> str:
        """A short human description, e.g. ``integer 16..512`` or ``one of low, medium, high``."""
        if self.enum:
            return "one of " + ", ".join(self.enum)
        if self.type_name in ("integer", "long", "float", "double"):
            kind = "number" if self.type_name in ("float", "double") else "integer"
            if self.min is not None and self.max is not None:
                return f"{kind} {_fmt(self.min)}..{_fmt(self.max)}"
            if self.min is not None:
                return f"{kind} >= {_fmt(self.min)}"
            if self.max is not None:
                return f"{kind} <= {_fmt(self.max)}"
            return f"{kind} (no range in the service model)"
        return self.type_name


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else repr(value)


@functools.lru_cache(maxsize=1)
def _operation() -> OperationModel:
    # Loading the JSON model takes ~100 ms; every caller shares one copy.
    model = botocore.session.get_session().get_service_model(SERVICE)
    return model.operation_model(OPERATION)


def _input_shape() -> Shape:
    shape = _operation().input_shape
    assert shape is not None  # CreateModelCustomizationJob always has an input
    return shape


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _constraint_of(shape: Shape) -> Constraint:
    meta = shape.metadata
    return Constraint(
        type_name=shape.type_name,
        min=meta.get("min"),
        max=meta.get("max"),
        enum=tuple(getattr(shape, "enum", None) or ()),
        pattern=meta.get("pattern"),
    )


def _child(shape: Shape, name: str, walked: tuple[str, ...]) -> Shape:
    """Step from ``shape`` to member ``name``; lists/maps accept ``member`` / ``key`` / ``value``."""
    if shape.type_name == "structure":
        if name in shape.members:
            return shape.members[name]
    elif shape.type_name == "list":
        if name == "member":
            return shape.member
        # Convenience: ("validationDataConfig", "validators", "s3Uri") steps through the list element.
        return _child(shape.member, name, walked)
    elif shape.type_name == "map" and name in ("key", "value"):
        return shape.key if name == "key" else shape.value
    where = ".".join(walked) or OPERATION
    known = ", ".join(sorted(shape.members)) if shape.type_name == "structure" else "(none)"
    raise KeyError(f"{where} has no member {name!r} in the {SERVICE} service model; members: {known}")


def constraint(*path: str) -> Constraint:
    """The :class:`Constraint` of the member at ``path`` under CreateModelCustomizationJob's input.

    Example: ``constraint("customizationConfig", "rftConfig", "hyperParameters", "batchSize")`` gives
    ``Constraint(type_name="integer", min=16, max=512, enum=(), pattern=None)``. Raises ``KeyError`` naming
    the known members when a name is wrong.
    """
    shape = _input_shape()
    for i, name in enumerate(path):
        shape = _child(shape, name, path[:i])
    return _constraint_of(shape)


def hyperparameter_constraints() -> dict[str, Constraint]:
    """RFT hyperparameters by API name (``epochCount``, ``batchSize``, ...) with their constraints."""
    shape = _input_shape()
    for i, name in enumerate(_HYPERPARAMETERS_PATH):
        shape = _child(shape, name, _HYPERPARAMETERS_PATH[:i])
    return {name: _constraint_of(member) for name, member in shape.members.items()}


def check_request(params: dict[str, Any]) -> list[str]:
    """Every way ``params`` breaks CreateModelCustomizationJob's input shape; ``[]`` when valid.

    Runs botocore's validator (required members, types, unknown keys, unions, minimums) and then the
    checks it skips: maximums (values and lengths), enums and whole-string patterns, recursively. Each
    problem is one line naming the parameter path, the value and what is allowed.
    """
    shape = _input_shape()
    problems: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems.extend(line.strip() for line in report.generate_report().splitlines() if line.strip())
    _walk(params, shape, "", problems)
    return problems


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(value: Any, shape: Shape, path: str, problems: list[str]) -> None:
    """Check max/enum/pattern (and bool-as-number) on ``value``; silently skip what botocore reports."""
    kind = shape.type_name
    meta = shape.metadata
    name = path or "(request)"
    if kind == "structure":
        if isinstance(value, dict):
            for key, member_value in value.items():
                if key in shape.members:  # unknown keys are botocore's report
                    _walk(member_value, shape.members[key], f"{path}.{key}" if path else key, problems)
        return
    if kind == "list":
        if isinstance(value, (list, tuple)):
            _check_length(value, meta, name, "items", problems)
            for i, item in enumerate(value):
                _walk(item, shape.member, f"{path}[{i}]", problems)
        return
    if kind == "map":
        if isinstance(value, dict):
            _check_length(value, meta, name, "entries", problems)
            for key, item in value.items():
                _walk(key, shape.key, f"{path} key {key!r}", problems)
                _walk(item, shape.value, f"{path}[{key!r}]", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            return
        _check_length(value, meta, name, "characters", problems)
        enum = tuple(getattr(shape, "enum", None) or ())
        if enum and value not in enum:
            problems.append(
                f"Invalid value for parameter {name}, value: {_short(value)}, valid values: {', '.join(enum)}"
            )
        pattern = meta.get("pattern")
        # Over-long values are already reported above; some service patterns backtrack badly (jobName's
        # `(-*[...-.])*` is exponential in a run of hyphens), so do not feed them unbounded input.
        too_long = "max" in meta and len(value) > meta["max"]
        if pattern and not too_long and not _compiled(pattern).fullmatch(value):
            problems.append(
                f"Invalid value for parameter {name}, value: {_short(value)}, "
                f"does not match the pattern {pattern!r} (the whole value must match)"
            )
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool):
            # bool is an int subclass, so botocore lets True through as the integer 1.
            problems.append(
                f"Invalid type for parameter {name}, value: {value!r}, a number is required, not a boolean"
            )
            return
        if not isinstance(value, (int, float)):
            return
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"Invalid value for parameter {name}, value: {value!r}, must be a finite number")
            return
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Invalid value for parameter {name}, value: {value!r}, valid max value: {_fmt(meta['max'])}"
            )


def _check_length(value: Any, meta: dict[str, Any], name: str, unit: str, problems: list[str]) -> None:
    if "max" in meta and len(value) > meta["max"]:
        problems.append(
            f"Invalid length for parameter {name}, length: {len(value)} {unit}, "
            f"valid max length: {meta['max']}"
        )
