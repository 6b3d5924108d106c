"""How the runner decides a test: reported values against expected ones, outside the sandbox.

Values travel in the harness's canonical form (``code_runner.harness.canonical``): JSON with tags for
tuples, sets, dicts and non-finite floats. Rules:

- numbers: ``bool`` is not a number (``True`` never equals ``1``). An expected *int* is exact: an int or
  an exactly equal integral float (``5.0`` for ``5``; ``123456789112.0`` is not ``123456789012``, ``1e-10``
  is not ``0``). Tolerance applies only where a float is expected (``float_tolerance``, relative and
  absolute near zero) or the test says so (``math.isclose``, ``approx``);
- sequences: in *function* tasks (expected values written in JSON, which has no tuples) a tuple equals a
  list with equal items; in *assert* tasks Python's rule holds (``(1, 2) != [1, 2]``);
- dicts and sets: equal regardless of order.

Program output is compared after :func:`normalize_output`.
"""

from __future__ import annotations

import math
from typing import Any

from code_runner.harness import Unencodable, canonical

_MISSING = object()


def normalize_output(text: str) -> str:
    """Program output as compared: ``\\r\\n`` and ``\\r`` become ``\\n``, trailing whitespace is removed
    from every line, and trailing empty lines are dropped. Leading whitespace and blank lines between
    lines count."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def encode_expected(value: Any) -> Any:
    """A JSON or Python literal as canonical data; ValueError for what cannot be compared."""
    try:
        return canonical(value)
    except Unencodable as exc:
        raise ValueError(str(exc)) from None


def _tagged(value: Any, tag: str) -> Any:
    if isinstance(value, dict) and len(value) == 1 and tag in value:
        return value[tag]
    return _MISSING


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    special = _tagged(value, "$float")
    if special is not _MISSING:
        return float(special)
    return None


def values_equal(got: Any, expected: Any, *, tolerance: float = 1e-9, strict_sequences: bool = False) -> bool:
    """Whether two canonical values are equal under the module's rules."""
    a, b = _number(got), _number(expected)
    if a is not None or b is not None:
        if a is None or b is None:
            return False
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if isinstance(b, int):  # an int is expected: exact (5.0 is 5; 1e-10 is not 0)
            return isinstance(a, float) and a.is_integer() and int(a) == b
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        if math.isinf(fa) or math.isinf(fb):
            return fa == fb
        return math.isclose(fa, fb, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(got, bool) or isinstance(expected, bool) or got is None or expected is None:
        return type(got) is type(expected) and got == expected
    if isinstance(got, str) or isinstance(expected, str):
        return isinstance(got, str) and isinstance(expected, str) and got == expected
    seq_a, seq_b = _sequence(got, strict_sequences), _sequence(expected, strict_sequences)
    if seq_a is not None or seq_b is not None:
        if seq_a is None or seq_b is None or seq_a[0] != seq_b[0] or len(seq_a[1]) != len(seq_b[1]):
            return False
        return all(
            values_equal(x, y, tolerance=tolerance, strict_sequences=strict_sequences)
            for x, y in zip(seq_a[1], seq_b[1])
        )
    set_a, set_b = _tagged(got, "$set"), _tagged(expected, "$set")
    if set_a is not _MISSING or set_b is not _MISSING:
        return (
            set_a is not _MISSING
            and set_b is not _MISSING
            and _unordered_equal(set_a, set_b, tolerance, strict_sequences)
        )
    dict_a, dict_b = _pairs(got), _pairs(expected)
    if dict_a is not None and dict_b is not None:
        if len(dict_a) != len(dict_b):
            return False
        return _unordered_equal(dict_a, dict_b, tolerance, strict_sequences, pairs=True)
    return False


def _sequence(value: Any, strict: bool) -> tuple[str, list[Any]] | None:
    if isinstance(value, list):
        return ("list" if strict else "seq", value)
    items = _tagged(value, "$tuple")
    if items is not _MISSING:
        return ("tuple" if strict else "seq", items)
    return None


def _pairs(value: Any) -> list[list[Any]] | None:
    pairs = _tagged(value, "$dict")
    if pairs is not _MISSING:
        return pairs
    if isinstance(value, dict) and not any(k.startswith("$") for k in value):
        return [[k, v] for k, v in value.items()]  # a plain JSON object (not yet canonical)
    return None


def _unordered_equal(
    a: list[Any], b: list[Any], tolerance: float, strict: bool, *, pairs: bool = False
) -> bool:
    if len(a) != len(b):
        return False
    unmatched = list(b)
    for item in a:
        for k, other in enumerate(unmatched):
            if pairs:
                same = values_equal(
                    item[0], other[0], tolerance=0.0, strict_sequences=strict
                ) and values_equal(item[1], other[1], tolerance=tolerance, strict_sequences=strict)
            else:
                same = values_equal(item, other, tolerance=tolerance, strict_sequences=strict)
            if same:
                del unmatched[k]
                break
        else:
            return False
    return True


def truthy(value: Any) -> bool:
    """Python truthiness of a canonical value (for ``assert f(x)``)."""
    if isinstance(value, dict):
        for tag in ("$tuple", "$set", "$dict"):
            if tag in value:
                return bool(value[tag])
        if "$float" in value:
            return True  # nan and inf are truthy
    return bool(value)


def compare(
    got: Any, op: str, expected: Any, *, tolerance: float, rel_tol: float = 0.0, abs_tol: float = 0.0
) -> bool:
    """An assert's comparison, decided here: ``got <op> expected`` for canonical values."""
    if op == "==":
        return values_equal(got, expected, tolerance=tolerance, strict_sequences=True)
    if op == "!=":
        return not values_equal(got, expected, tolerance=tolerance, strict_sequences=True)
    if op == "truthy":
        return truthy(got)
    if op == "falsy":
        return not truthy(got)
    if op in ("is", "is not"):
        same = type(got) is type(expected) and got == expected  # None / True / False only
        return same if op == "is" else not same
    if op == "isclose":
        a, b = _number(got), _number(expected)
        if a is None or b is None:
            return False
        return math.isclose(float(a), float(b), rel_tol=rel_tol or 1e-9, abs_tol=abs_tol)
    if op in ("in", "not in"):
        container = expected
        items = None
        if isinstance(container, str):
            found = isinstance(got, str) and got in container
        else:
            items = _sequence(container, True)
            members = items[1] if items is not None else _tagged(container, "$set")
            if members is _MISSING:
                pairs = _pairs(container)
                members = [k for k, _ in pairs] if pairs is not None else []
            found = any(values_equal(got, m, tolerance=tolerance, strict_sequences=True) for m in members)
        return found if op == "in" else not found
    a, b = _number(got), _number(expected)
    if a is None or b is None:
        if isinstance(got, str) and isinstance(expected, str):
            a, b = got, expected  # type: ignore[assignment]
        else:
            return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}.get(op, False)  # type: ignore[operator]
