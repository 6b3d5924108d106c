"""``custom``: your own Python function, in a file under ``lambda_src/``, as a grader.

The function (``function = "module:function"``, e.g. ``"examples_custom_reward:cites_rule"`` for
``lambda_src/examples_custom_reward.py``) has ONE signature::

    def my_grader(sample: reward.event.Sample, options: Mapping[str, Any]) -> Grade | float | bool

``sample`` carries ``response``, ``reference`` (the row's reference_answer), ``metadata`` (every other
field of the dataset row) and ``prompt``; ``options`` is the dimension's ``options`` table, passed
through as is. It returns a ``reward.results.Grade`` (use ``Grade.right()``, ``Grade.partial(x)``,
``Grade.unscorable(reason)``, ``Grade.no_reference()``...), a number in [0, 1] (the credit), or a bool
(right/wrong).

Formula: credit = what the function returns. A number outside [0, 1], NaN, another type, or an exception
becomes status ``error`` (not a low score: the spec's ``on_error`` policy applies) with the reason.
An empty response (no letter or digit) is ``unscorable`` without calling the function, so a custom
grader can never pay for nothing. The module is imported when the spec loads: a missing module, a
syntax error or a wrong signature fails the spec with a message naming ``params.function``.
Set ``needs_reference = true`` to get ``no_reference`` for rows without a reference (the function is
then not called for them), ``heavy = true`` to run a CPU-heavy function in the worker processes, and
``reads_answer = true`` when it reads the declared answer: a spec's ``answer_after`` then hands it only
what follows the reasoning (and ``unscorable`` without the delimiter).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import reward
from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content

CustomFunction = Callable[[Sample, Mapping[str, Any]], Any]
_TARGET = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")

# lambda_src/ locally, /var/task on Lambda: where users' grader modules live next to the reward package.
CODE_ROOT = Path(reward.__file__).resolve().parents[1]


def load_function(target: str) -> CustomFunction:
    """Import ``module:function`` (modules are looked up in ``lambda_src/`` first); raise ``ParamError``."""
    if not _TARGET.fullmatch(target or ""):
        raise ParamError(
            "function",
            f"'function' must look like \"module:function\" (a file lambda_src/module.py defining "
            f"function), got {target!r}",
        )
    module_name, _, function_name = target.partition(":")
    if str(CODE_ROOT) not in sys.path:
        sys.path.append(str(CODE_ROOT))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, SyntaxError, or whatever the module raises at import
        raise ParamError(
            "function",
            f"cannot import module {module_name!r} ({type(exc).__name__}: {str(exc)[:200]}); "
            f"put it in {CODE_ROOT / (module_name.replace('.', '/') + '.py')}",
        ) from None
    function = getattr(module, function_name, None)
    if function is None or not callable(function):
        raise ParamError("function", f"module {module_name!r} has no function {function_name!r}")
    try:
        inspect.signature(function).bind(None, {})
    except TypeError:
        raise ParamError(
            "function",
            f"{target} must accept (sample, options): def {function_name}(sample, options) -> Grade | float | bool",
        ) from None
    except ValueError:  # builtins without a signature: let them be
        pass
    return function


@dataclass(frozen=True)
class CustomParams:
    function: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    needs_reference: bool = False
    heavy: bool = False
    reads_answer: bool = False  # the spec's answer_after applies (the function reads the declared answer)

    def __post_init__(self) -> None:
        load_function(self.function)


class CustomGrader(Grader):
    name = "custom"
    Params = CustomParams

    def __init__(self, params: CustomParams) -> None:
        super().__init__(params)
        self.function = load_function(params.function)
        self.needs_reference = params.needs_reference  # type: ignore[misc]
        self.heavy = params.heavy  # type: ignore[misc]
        self.reads_answer = params.reads_answer  # type: ignore[misc]

    def grade(self, sample: Sample) -> Grade:
        p: CustomParams = self.params
        if not has_content(sample.response):
            return Grade.unscorable("empty response")
        try:
            result = self.function(sample, p.options)
        except Exception as exc:
            return Grade.error(f"{p.function} raised {type(exc).__name__}: {str(exc)[:200]}")
        return as_grade(result, p.function)


def as_grade(result: Any, where: str = "custom grader") -> Grade:
    """A custom function's result as a ``Grade``: Grade as is, bool right/wrong, number in [0, 1]."""
    if isinstance(result, Grade):
        return result
    if isinstance(result, bool):
        return Grade.right() if result else Grade.wrong()
    if isinstance(result, (int, float)):
        if math.isfinite(result) and 0 <= result <= 1:
            return Grade.partial(float(result))
        return Grade.error(f"{where} returned {result!r}: a credit must be a number in [0, 1]")
    return Grade.error(
        f"{where} returned {type(result).__name__}: return a Grade, a number in [0, 1] or a bool"
    )
