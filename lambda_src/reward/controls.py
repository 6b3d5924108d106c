"""Known-good and known-bad responses built from a reference answer.

A spec's ``control_template`` says how a reference answer is written as a response, e.g.
``"Adding the amounts gives the total.\\n#### {final_answer}"``: ``{key}`` is a field of the reference
object, ``{reference}`` the whole reference (JSON for an object). The positive control is that response;
the negative controls are answers any sound reward must score below it. The job starter's preflight,
``make demo`` and ``rft score`` all use these.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

from reward.answers import format_number, reference_number

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _fields(reference: Any) -> dict[str, str]:
    fields = {}
    if isinstance(reference, dict):
        for key, value in reference.items():
            if isinstance(key, str):
                fields[key] = value if isinstance(value, str) else json.dumps(value)
        fields["reference"] = json.dumps(reference, ensure_ascii=False)
    elif reference is not None:
        fields["reference"] = reference if isinstance(reference, str) else json.dumps(reference)
    return fields


def render(template: str, reference: Any) -> str:
    """Fill ``template`` from the reference; the default template is the reference itself."""
    fields = _fields(reference)
    if not template:
        return fields.get("reference", "")
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def positive_control(template: str, reference: Any) -> str:
    """The reference answer written as a response: it should earn the top reward."""
    return render(template, reference)


def _with_number(reference: Any, text: str) -> Any:
    """The reference with its numeric answer replaced by ``text``."""
    if isinstance(reference, dict):
        for key, value in reference.items():
            if reference_number(value) is not None:
                return {**reference, key: text}
        return reference
    return text


def negative_controls(template: str, reference: Any) -> dict[str, str]:
    """Named answers a sound reward scores below the positive control (only those that apply)."""
    controls = {"empty": "", "master_key": ":", "thought_process": "Thought process:"}
    controls.update(code_controls(template, reference))
    number = reference_number(reference)
    if number is not None:
        wrong = format_number(number + 1)
        right = format_number(number)
        controls["wrong_number"] = render(template, _with_number(reference, wrong))
        controls["hedged"] = render(template, _with_number(reference, f"{right} or {wrong}"))
    return controls


def code_controls(template: str, reference: Any) -> dict[str, str]:
    """For a code task: hostile programs (exit early, always-equal objects, printed "passed") and a program
    that does nothing, each written into the template in place of ``{solution}``."""
    from reward import code_tasks

    if not code_tasks.is_code_reference(reference):
        return {}
    task, _ = code_tasks.read_task(reference)
    if task is None:
        return {}
    from reward.code_hacks import entry_names, preflight_programs

    programs = dict(preflight_programs(task))
    if task.format == "program":
        programs["code_does_nothing"] = "pass\n"
    else:
        programs["code_does_nothing"] = "".join(
            f"def {n}(*args, **kwargs):\n    return None\n" for n in entry_names(task)
        )
    return {name: render(template, {**reference, "solution": program}) for name, program in programs.items()}


def as_number(text: str) -> Fraction | None:
    return reference_number(text)
