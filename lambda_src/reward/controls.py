"""Known-good and known-bad responses built from a reference answer.

A spec's ``control_template`` says how a reference answer is written as a response, e.g.
``"Adding the amounts gives the total.\\n#### {final_answer}"``: ``{key}`` is a field of the reference
object, ``{reference}`` the whole reference (JSON for an object). The positive control is that response;
the negative controls are answers any sound reward must score below it. The job starter's preflight,
``make demo`` and ``rft score`` all use these.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
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


# ``{x}`` right after a LaTeX command, a sub/superscript or another group is LaTeX, not a placeholder:
# ``\\text{cm}``, ``\\frac{a}{b}``, ``x^{n}``.
_LATEX_BEFORE = re.compile(r"(?:\\[A-Za-z]+\s*|[\^_]\s*|\})$")


def template_fields(template: str) -> list[str]:
    """The placeholders ``template`` fills from the reference (``{final_answer}``), in order, without
    LaTeX groups (``\\frac{a}{b}``, ``\\text{cm}``) and without duplicates."""
    names: list[str] = []
    for m in _PLACEHOLDER.finditer(template):
        if _LATEX_BEFORE.search(template[: m.start()]) or m.group(1) in names:
            continue
        names.append(m.group(1))
    return names


def check_template(template: str, references: Iterable[Any]) -> str | None:
    """Why ``template`` cannot write these reference answers as responses, or None when it can.

    A placeholder must name a field of the reference objects (or be ``{reference}``): a typo such as
    ``{categroy}`` would otherwise be left in the text and every positive control would fail silently.
    The message names the placeholder, the fields that exist and the closest one.
    """
    wanted = [name for name in template_fields(template) if name != "reference"]
    if not wanted:
        return None
    fields: dict[str, None] = {}
    kinds: set[str] = set()
    for reference in references:
        if isinstance(reference, dict):
            fields.update(dict.fromkeys(k for k in reference if isinstance(k, str)))
        else:
            kinds.add(type(reference).__name__)
    for name in wanted:
        if name in fields:
            continue
        if not fields:
            kind = ", ".join(sorted(kinds)) or "nothing"
            return (
                f"control_template placeholder {{{name}}} needs reference answers that are objects, but they "
                f"are {kind}; write {{reference}} for the whole reference answer"
            )
        close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.5)
        hint = f"; did you mean {{{close[0]}}}?" if close else ""
        return (
            f"control_template placeholder {{{name}}} names no field of the reference answers; their fields "
            f"are {', '.join(fields)} (or {{reference}} for the whole reference){hint}"
        )
    return None


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
    if _expects_no_tool_call(reference):
        # A row that expects no tool call is answered in text, and any text is a correct no-call
        # (docs/tool-calling.md): only contentless replies are known-bad there.
        del controls["thought_process"]
    controls.update(code_controls(template, reference))
    number = reference_number(reference)
    if number is not None:
        wrong = format_number(number + 1)
        right = format_number(number)
        controls["wrong_number"] = render(template, _with_number(reference, wrong))
        controls["hedged"] = render(template, _with_number(reference, f"{right} or {wrong}"))
    return controls


def _expects_no_tool_call(reference: Any) -> bool:
    from reward import tool_specs

    if not isinstance(reference, dict) or not any(k in reference for k in tool_specs.REFERENCE_KEYS):
        return False
    try:
        return tool_specs.expected_calls(reference) == ()
    except tool_specs.ToolSpecError:
        return False


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
