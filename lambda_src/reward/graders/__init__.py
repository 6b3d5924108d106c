"""The grader registry: a spec's ``grader = "name"`` resolves here.

Modules are imported only when a spec uses them, so heavy dependencies (sympy, math-verify, boto3) stay
off the cold-start path of specs that do not need them.
"""

from __future__ import annotations

import importlib

from reward.graders.base import Grader

# name -> "module:ClassName". Keep sorted; docs/reward-specs.md's grader table follows this list.
BUILTIN_GRADERS: dict[str, str] = {
    "choice": "reward.graders.choice:ChoiceGrader",
    "code": "reward.graders.code:CodeGrader",
    "custom": "reward.graders.custom:CustomGrader",
    "exact": "reward.graders.exact:ExactGrader",
    "format": "reward.graders.format:FormatGrader",
    "json": "reward.graders.json_fields:JsonGrader",
    "judge": "reward.graders.judge:JudgeGrader",
    "length": "reward.graders.length:LengthGrader",
    "math": "reward.graders.math:MathGrader",
    "numeric": "reward.graders.numeric:NumericGrader",
    "regex": "reward.graders.regex:RegexGrader",
    "similarity": "reward.graders.similarity:SimilarityGrader",
    "terms": "reward.graders.terms:TermsGrader",
    "tool_call": "reward.graders.tool_call:ToolCallGrader",
}


def grader_class(name: str) -> type[Grader]:
    """The class registered under ``name``; KeyError when there is none."""
    target = BUILTIN_GRADERS[name]
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
