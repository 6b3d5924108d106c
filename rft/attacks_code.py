"""Code-task attack families for ``rft probe`` (registered by ``rft.attacks``).

Each family is a hostile program (``reward.code_hacks``: exit early, always-equal objects, patched
builtins, printed "passed" and forged results, hard-coded visible examples, infinite loops, memory bombs,
fork storms, huge output, killing the parent) written into the spec's ``control_template`` in place of
the reference ``solution``, so it reaches the grader exactly as a model's answer would. Rows that are not
code tasks skip these families.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reward.code_hacks import FAMILIES, programs
from reward.code_tasks import is_code_reference, read_task
from reward.controls import render

__all__ = ["FAMILIES", "build", "is_code_reference"]


def build(reference: Any, template: str, prompt: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """``([(family, variant, response)], {family: why skipped})`` for one row's reference answer."""
    if not is_code_reference(reference):
        return [], dict.fromkeys(FAMILIES, "not a code task")
    task, problem = read_task(reference)
    if task is None:
        return [], dict.fromkeys(FAMILIES, f"the code reference is malformed: {problem}")
    if "{solution}" not in template:
        return [], dict.fromkeys(FAMILIES, "control_template has no {solution} placeholder for the program")
    built = programs(task, prompt)
    attacks = [
        (family, variant, render(template, {**_as_dict(reference), "solution": program}))
        for (family, variant), program in built.items()
    ]
    present = {family for family, _ in built}
    skipped = {f: f"does not apply to {task.format} tasks" for f in FAMILIES if f not in present}
    return attacks, skipped


def _as_dict(reference: Any) -> dict[str, Any]:
    return dict(reference) if isinstance(reference, Mapping) else {}
