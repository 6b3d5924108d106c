"""The grader interface every built-in and custom grader implements, and typed parameter parsing."""

from __future__ import annotations

import dataclasses
import difflib
import time
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from reward.event import Sample
from reward.results import Grade, InfrastructureError

if TYPE_CHECKING:
    from reward.user_regex import UserPattern


class ParamError(ValueError):
    """A grader parameter is wrong. ``key`` names it; the spec loader adds the file and dimension."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def answer_reading(answer_pattern: str, markers: Sequence[str] | None = None) -> UserPattern | None:
    """The one check of the parameters that say where a grader reads the declared answer.

    ``answer_pattern`` (a regex with one capture group) must compile under ``reward.user_regex``'s rules;
    ``markers`` (for graders that have them) must be a non-empty subset of ``reward.answers.MARKERS``.
    Returns the compiled pattern (None without one); raises ``ParamError`` naming the key otherwise.
    """
    # Imported here: graders that read no declared answer (judge, length, ...) never load the regex engine.
    from reward.answers import MARKERS, compile_answer_pattern

    compiled = None
    if answer_pattern:
        try:
            compiled = compile_answer_pattern(answer_pattern)
        except ValueError as exc:
            raise ParamError("answer_pattern", str(exc)) from None
    if markers is not None and (not markers or set(markers) - set(MARKERS)):
        raise ParamError("markers", f"'markers' entries must be among {', '.join(MARKERS)}")
    return compiled


@dataclasses.dataclass(frozen=True)
class NoParams:
    """For graders without parameters."""


class Grader:
    """Base class of graders.

    Subclasses set ``name`` (what a spec writes in ``grader = "..."``), ``Params`` (a frozen dataclass with
    defaults; unknown or mistyped keys are rejected at load time), ``needs_reference`` (the runner answers
    ``no_reference`` without calling ``grade`` when the row has none) and ``heavy`` (CPU-heavy graders run in
    worker processes with a hard time limit), and implement ``grade``. A network-bound grader (the ``judge``)
    sets ``batched`` and implements ``grade_many``: the runner hands it the whole batch at once, so it can
    grade concurrently, and waits for it no longer than the batch deadline. A grader that reads the
    declared answer sets ``reads_answer``, so the spec's ``answer_after`` applies to it.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    needs_reference: ClassVar[bool] = False
    heavy: ClassVar[bool] = False
    batched: ClassVar[bool] = False
    #: Reads a declared answer from the response: a spec's ``answer_after`` (e.g. ``"</think>"``) then hands
    #: it only what follows the delimiter (and ``unscorable`` when the delimiter is missing).
    reads_answer: ClassVar[bool] = False

    def __init__(self, params: Any) -> None:
        self.params = params

    @classmethod
    def from_params(cls, raw: Mapping[str, Any]) -> Grader:
        return cls(parse_params(cls.Params, raw))

    def grade(self, sample: Sample) -> Grade:  # pragma: no cover - interface
        raise NotImplementedError

    def warm(self) -> None:
        """Get ready at Lambda init (e.g. create a client) so the first batch does not pay for it."""

    def grade_many(
        self, samples: Sequence[Sample], deadline: float | None
    ) -> list[Grade | InfrastructureError]:
        """Grades of ``samples`` in order (batched graders override this to work concurrently).

        ``deadline`` is a ``time.monotonic()`` instant; samples not graded by then get ``Grade.deadline()``.
        A sample whose failure is provably ours is handed back as an ``InfrastructureError`` (the runner
        settles it: ``reward.sample_grading``).
        """
        return [
            Grade.deadline() if deadline is not None and time.monotonic() >= deadline else self.grade(s)
            for s in samples
        ]


def parse_params(params_cls: type, raw: Mapping[str, Any]) -> Any:
    """Build ``params_cls`` from a TOML table, checking names and types; raise ``ParamError``."""
    if not isinstance(raw, Mapping):
        raise ParamError("params", f"must be a table, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            allowed = ", ".join(sorted(fields)) or "(none)"
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ParamError(key, f"unknown parameter {key!r}; {hint}allowed: {allowed}")
        values[key] = _coerce(key, value, hints[key])
    try:
        return params_cls(**values)
    except ParamError:
        raise
    except (TypeError, ValueError) as exc:
        raise ParamError(next(iter(values), "params"), str(exc)) from None


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _coerce(key, value, option)
            except ParamError as exc:
                errors.append(str(exc))
        raise ParamError(key, errors[0] if errors else f"{key!r}: unsupported value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ParamError(key, f"{key!r} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (tuple, list):
        item_type = args[0] if args else Any
        if isinstance(value, str) and item_type is str:
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ParamError(key, f"{key!r} must be a list, got {type(value).__name__}")
        return tuple(_coerce(key, v, item_type) for v in value)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ParamError(key, f"{key!r} must be a table, got {type(value).__name__}")
        return dict(value)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamError(key, f"{key!r} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(key, f"{key!r} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(key, f"{key!r} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ParamError(key, f"{key!r} must be a string, got {value!r}")
        return value
    return value
