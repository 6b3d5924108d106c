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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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


#: Most rows whose positive control a spec may fail to grade (1%): above it the spec/data pair is refused.
UNGRADABLE_RATE = 0.01
#: Grader statuses that say the grade is not a judgement of the response but of the row or the spec.
_CANNOT_GRADE = ("no_reference", "error")


@dataclass(frozen=True)
class Gradability:
    """Which rows' positive control a spec cannot grade: ``ungradable`` holds ``(row index, dimension,
    reason)`` of the first dimension that failed on each such row."""

    rows: int
    ungradable: tuple[tuple[int, str, str], ...]

    @property
    def rate(self) -> float:
        return len(self.ungradable) / self.rows if self.rows else 0.0

    def problem(self, line_of: Callable[[int], str] = lambda i: f"row {i + 1}") -> str | None:
        """One line naming the count and the first row when more than 1% of rows cannot be graded."""
        if self.rows == 0 or self.rate <= UNGRADABLE_RATE:
            return None
        index, dimension, reason = self.ungradable[0]
        return (
            f"the spec cannot grade the reference answer on {len(self.ungradable)} of {self.rows} rows "
            f"(over {UNGRADABLE_RATE:.0%}); first: {line_of(index)}, dimension {dimension!r}: {reason}"
        )


def check_gradable(spec: Any, records: Iterable[Mapping[str, Any]]) -> Gradability:
    """Grade each row's positive control (``control_template`` filled from its reference) and note the rows
    a dimension cannot grade (``no_reference`` or ``error``). No network and no sandbox: a dimension that
    would call Bedrock (``judge``) or run a program (``code``) or user code (``custom``) only checks that
    its inputs are usable — a reference when it needs one; for ``code`` a readable task and a program the
    control writes in a fenced block. Shared by ``rft score``, ``rft validate-data --spec``, ``rft probe``
    and ``cdk synth``."""
    from reward.event import Message, Sample
    from reward.runner import grade_dimensions

    offline = [i for i, g in enumerate(spec.graders) if not _inputs_only(g)]
    bad: list[tuple[int, str, str]] = []
    n = 0
    for index, record in enumerate(records):
        n += 1
        reference = record.get("reference_answer")
        metadata = {k: v for k, v in record.items() if k != "messages"}
        prompt = tuple(
            Message(m["role"], m["content"])
            for m in record.get("messages") or []
            if isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        )
        control = positive_control(spec.control_template, reference)
        sample = Sample(
            id=str(index),
            index=index,
            prompt=prompt,
            response=control,
            reference=reference,
            metadata=metadata,
        )
        found = None
        for i, grader in enumerate(spec.graders):
            if i not in offline:
                reason = _inputs_problem(grader, sample)
                if reason:
                    found = (spec.dimensions[i].name, reason)
                    break
        if found is None and offline:
            for i, grade in zip(offline, grade_dimensions(spec, sample, offline)):
                if grade.status.value in _CANNOT_GRADE:
                    found = (
                        spec.dimensions[i].name,
                        f"{grade.status.value}: {grade.reason or 'no reason given'}",
                    )
                    break
        if found is not None:
            bad.append((index, *found))
    return Gradability(n, tuple(bad))


def _inputs_only(grader: Any) -> bool:
    """Graders checked only for usable inputs: they call Bedrock, run a sandbox or run user code."""
    return bool(grader.batched) or grader.name in ("code", "custom", "judge")


def _inputs_problem(grader: Any, sample: Any) -> str | None:
    if grader.needs_reference and not sample.has_reference:
        return "no_reference: the row has no reference_answer"
    if grader.name == "code":
        from reward import code_tasks

        task, problem = code_tasks.read_task(sample.reference)
        if task is None:
            return f"no_reference: no code task in the reference: {problem}"
        from reward.graders.code import extract_program

        p = grader.params
        program = extract_program(
            sample.response or "", block=p.block, languages=p.languages, untagged=p.untagged
        )
        if not (program or "").strip():
            return "the positive control holds no program the code grader reads (control_template: a fenced python block)"
    return None
