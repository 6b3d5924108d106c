"""Parameters of the ``judge`` grader (an LLM-as-judge rubric): parsed and checked when a spec loads.

Kept apart from ``reward.graders.judge`` so the spec loader, the CLI and synth validate a judge spec
without importing anything the judge calls need (boto3 is imported lazily, on the first call).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reward.graders.base import ParamError

CRITERION_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
DEFAULT_SCALE = ("unacceptable", "poor", "acceptable", "good", "excellent")
_CRITERION_KEYS = {"name", "description", "weight"}
MAX_CRITERIA = 12
MAX_LABEL_CHARS = 40


@dataclass(frozen=True)
class Criterion:
    """One rubric line: what the judge grades, how it is described to the judge, and its weight."""

    name: str
    description: str
    weight: float = 1.0


@dataclass(frozen=True)
class JudgeParams:
    """``[dimensions.params]`` of a ``grader = "judge"`` dimension (docs/judge.md: "Writing a rubric")."""

    criteria: tuple[Any, ...] = ()  # tables of name, description, weight; Criterion values after init
    scale: tuple[str, ...] = DEFAULT_SCALE  # worst -> best; credit of label i = i / (len(scale) - 1)
    task: str = ""  # what is being graded, told to the judge ("a support agent's reply to ...")
    include_reference: bool = True  # show the row's reference answer to the judge (rows need one)
    reference_key: str = ""  # show only this key of a reference object ("" = the whole reference)
    max_response_chars: int = 8000  # longer responses get credit 0 without a call
    concurrency: int = 16  # judge calls in flight per invocation, shared by the spec's judge dimensions
    # Per sample: throttles, 5xx, timeouts and malformed verdicts are retried. 8 attempts: with 30% of calls
    # throttled, a sample still fails only with probability 0.3**8 (7e-5), and the deadline bounds the waits.
    max_attempts: int = 8
    max_output_tokens: int = 600
    timeout_s: float = 30.0  # read timeout of one Converse call
    backoff_base_s: float = 0.5  # retry n waits uniform(0, min(backoff_max_s, backoff_base_s * 2**n))
    backoff_max_s: float = 8.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", _criteria(self.criteria))
        _check_scale(self.scale)
        _check_int("max_response_chars", self.max_response_chars, 1, 1_000_000)
        _check_int("concurrency", self.concurrency, 1, 256)
        _check_int("max_attempts", self.max_attempts, 1, 20)
        _check_int("max_output_tokens", self.max_output_tokens, 64, 8192)
        _check_number("timeout_s", self.timeout_s, 0.05, 900)
        _check_number("backoff_base_s", self.backoff_base_s, 0.001, 60)
        _check_number("backoff_max_s", self.backoff_max_s, self.backoff_base_s, 300)
        if len(self.task) > 2000:
            raise ParamError("task", f"'task' must be at most 2000 characters, got {len(self.task)}")

    @property
    def rubric(self) -> tuple[Criterion, ...]:
        """The criteria as ``Criterion`` values (``criteria`` holds them after validation)."""
        return self.criteria


def _criteria(raw: Any) -> tuple[Criterion, ...]:
    if not raw:
        raise ParamError(
            "criteria",
            "a judge needs at least one [[dimensions.params.criteria]] table "
            '(name = "accurate", description = "...", weight = 1)',
        )
    if len(raw) > MAX_CRITERIA:
        raise ParamError("criteria", f"at most {MAX_CRITERIA} criteria per dimension, got {len(raw)}")
    out: list[Criterion] = []
    for i, item in enumerate(raw):
        where = f"criteria[{i}]"
        if isinstance(item, Criterion):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ParamError(where, f"{where} must be a table with name, description, weight")
        unknown = sorted(set(item) - _CRITERION_KEYS)
        if unknown:
            raise ParamError(
                f"{where}.{unknown[0]}",
                f"{where}: unknown key {unknown[0]!r}; allowed: name, description, weight",
            )
        name = item.get("name")
        if not isinstance(name, str) or not CRITERION_NAME.fullmatch(name):
            raise ParamError(
                f"{where}.name",
                f"{where}.name must be lowercase letters, digits or _ starting with a letter "
                f"(at most 48 chars), got {name!r}",
            )
        if any(c.name == name for c in out):
            raise ParamError(f"{where}.name", f"{where}.name: duplicate criterion {name!r}")
        description = item.get("description")
        if not isinstance(description, str) or not description.strip():
            raise ParamError(
                f"{where}.description",
                f"{where}.description must be a non-empty string (what the judge checks)",
            )
        if len(description) > 1000:
            raise ParamError(f"{where}.description", f"{where}.description must be at most 1000 characters")
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ParamError(f"{where}.weight", f"{where}.weight must be a number, got {weight!r}")
        if not weight > 0 or weight == float("inf"):
            raise ParamError(f"{where}.weight", f"{where}.weight must be > 0 (and finite), got {weight!r}")
        out.append(Criterion(name, description.strip(), float(weight)))
    return tuple(out)


def _check_scale(scale: tuple[str, ...]) -> None:
    if len(scale) < 2:
        raise ParamError("scale", f"'scale' needs at least 2 labels (worst -> best), got {list(scale)}")
    if len(scale) > 11:
        raise ParamError("scale", f"'scale' has at most 11 labels, got {len(scale)}")
    for i, label in enumerate(scale):
        if not label.strip() or label != label.strip() or len(label) > MAX_LABEL_CHARS:
            raise ParamError(
                f"scale[{i}]",
                f"scale[{i}] must be a non-empty label without surrounding spaces, at most "
                f"{MAX_LABEL_CHARS} chars, got {label!r}",
            )
    if len({label.casefold() for label in scale}) != len(scale):
        raise ParamError("scale", f"'scale' labels must be distinct, got {list(scale)}")


def _check_int(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ParamError(key, f"{key!r} must be between {low} and {high}, got {value}")


def _check_number(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ParamError(key, f"{key!r} must be between {low:g} and {high:g}, got {value:g}")
