"""Code tasks in a dataset row: the three reference formats, read and checked in one place.

Used by the ``code`` grader (to build runner jobs), by the dataset validator (``rft validate-data``) and by
the attack builders. Standard library only (``ast`` parses, nothing is executed here).

- **function**: ``{"entry_point": "name", "tests": [{"args": [...], "kwargs": {...}, "expected": <JSON>}],
  "solution": "..."}`` — ``name(*args, **kwargs)`` must return ``expected``;
- **program**: ``{"tests": [{"stdin": "...", "stdout": "..."}], "solution": "..."}`` — the program reads
  ``stdin`` and must print ``stdout`` (compared after normalization, see ``code_runner.compare``);
- **assert**: ``{"test_code": "assert f(1) == 2\\n...", "solution": "..."}`` (optionally ``entry_point``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CODE_KEYS = ("entry_point", "tests", "test_code")
MAX_TESTS = 256


@dataclass(frozen=True)
class CodeTask:
    format: str  # "function", "program", "assert"
    entry_point: str | None
    tests: tuple[Any, ...]
    test_code: str | None
    solution: str | None


def is_code_reference(reference: Any) -> bool:
    """True when a reference answer is written in one of the code formats (has a code key)."""
    return isinstance(reference, Mapping) and any(key in reference for key in CODE_KEYS)


def read_task(reference: Any) -> tuple[CodeTask | None, str]:
    """The task in ``reference``, or ``(None, what is wrong)``. Checks shape, not behaviour."""
    if not isinstance(reference, Mapping):
        return None, "reference_answer is not an object with entry_point/tests or test_code"
    solution = reference.get("solution")
    if solution is not None and not isinstance(solution, str):
        return None, "'solution' must be a string of Python code"
    entry_point = reference.get("entry_point")
    if entry_point is not None and not (isinstance(entry_point, str) and entry_point.isidentifier()):
        return None, f"'entry_point' must be a Python identifier, got {json.dumps(entry_point)[:40]}"
    if "test_code" in reference:
        test_code = reference["test_code"]
        if not isinstance(test_code, str) or not test_code.strip():
            return None, "'test_code' must be a non-empty string of asserts"
        try:
            tree = ast.parse(test_code)
        except SyntaxError as exc:
            return None, f"'test_code' does not parse: line {exc.lineno}: {exc.msg}"
        if not any(isinstance(node, ast.Assert) for node in ast.walk(tree)):
            return None, "'test_code' has no assert statement"
        return CodeTask("assert", entry_point, (), test_code, solution), ""
    tests = reference.get("tests")
    if not isinstance(tests, list) or not tests:
        return None, "'tests' must be a non-empty list (or give 'test_code')"
    if len(tests) > MAX_TESTS:
        return None, f"{len(tests)} tests; at most {MAX_TESTS}"
    fmt = "function" if entry_point else "program"
    for n, test in enumerate(tests):
        if not isinstance(test, Mapping):
            return None, f"tests[{n}] is not an object"
        if fmt == "function":
            extra = set(test) - {"args", "kwargs", "expected"}
            if "expected" not in test:
                return None, f"tests[{n}] has no 'expected' (function tasks: args, kwargs, expected)"
            if not isinstance(test.get("args", []), list) or not isinstance(test.get("kwargs", {}), Mapping):
                return None, f"tests[{n}]: 'args' must be a list and 'kwargs' an object"
        else:
            extra = set(test) - {"stdin", "stdout"}
            if not isinstance(test.get("stdin", ""), str) or not isinstance(test.get("stdout"), str):
                return None, (
                    f"tests[{n}] needs 'stdout' (and 'stdin') strings; a function task needs 'entry_point'"
                )
        if extra:
            return None, f"tests[{n}] has unknown keys {sorted(extra)} for a {fmt} task"
    return CodeTask(fmt, entry_point, tuple(tests), None, solution), ""


def check_solution_parses(task: CodeTask) -> str:
    """'' or why the reference solution is not valid Python (or lacks the entry point)."""
    if task.solution is None:
        return ""
    try:
        tree = ast.parse(task.solution)
    except SyntaxError as exc:
        return f"'solution' does not parse: line {exc.lineno}: {exc.msg}"
    if task.entry_point and task.format == "function":
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if task.entry_point not in names:
            return f"'solution' defines no function {task.entry_point!r}"
    return ""


def opaque_asserts(test_code: str) -> int:
    """How many asserts the runner cannot rewrite (judged inside the sandbox; see code_runner.asserts)."""
    try:
        from code_runner.asserts import parse_asserts
    except ImportError:  # the runner package is not bundled here (deployed reward Lambda): skip the check
        return 0
    try:
        return parse_asserts(test_code).opaque
    except SyntaxError:
        return 0


def job_for(
    task: CodeTask, job_id: str, program: str, limits: Mapping[str, Any], *, stop_on_failure: bool = False
) -> dict[str, Any]:
    """The runner job for running ``program`` against ``task``'s tests."""
    return {
        "id": job_id,
        "language": "python",
        "program": program,
        "format": task.format,
        "entry_point": task.entry_point,
        "tests": [dict(t) for t in task.tests],
        "test_code": task.test_code,
        "limits": dict(limits),
        "stop_on_failure": stop_on_failure,
    }
