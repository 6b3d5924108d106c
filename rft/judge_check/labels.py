"""The labelled sample ``rft judge-check`` measures a judge against: reading and checking it.

A labels file is JSONL; each row is a dataset record (``messages``, ``reference_answer``: the dataset
rules of ``reward.dataset`` apply) plus ``response`` (the reply to judge) and ``human``: for every judge
dimension of the spec, either one label of its scale or a label per criterion (all of them or some)::

    {"messages": [...], "reference_answer": {...}, "response": "Hi Ana, ...",
     "human": {"quality": {"accurate": "good", "resolves": "poor", "empathetic": "good",
                           "on_brand": "excellent"}, "safety": "safe"},
     "reason": "right refund, but no next step"}

``reason`` (optional) is for the people reading the file. Every problem is a ``CliError`` (exit 2) of one
line naming the file, the line and the key, with a did-you-mean for a misspelt dimension, criterion or
label.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import CliError

#: Fewer rows than this measure nothing: kappa's standard error at n = 20 is already about 0.15.
MIN_ROWS = 20


@dataclass(frozen=True)
class JudgeDimension:
    """A ``grader = "judge"`` dimension of the spec: its name, grader and rubric."""

    name: str
    grader: Any  # reward.graders.judge.JudgeGrader
    criteria: tuple[Any, ...]  # reward.judge.params.Criterion
    scale: tuple[str, ...]
    #: False for a dimension that only vetoes (weight 0, no dimension gated on it): its credit pays nothing,
    #: so a degenerate reply it calls "safe" is no hack (the master-key and rubric-echo tests are then
    #: reported, not enforced).
    pays: bool = True

    @property
    def criterion_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)

    def credit_of(self, credits: Mapping[str, float]) -> float:
        """The grader's formula over the criteria in ``credits`` (criterion -> ``index / (len(scale) - 1)``):
        their weighted mean."""
        chosen = [c for c in self.criteria if c.name in credits]
        return sum(c.weight * credits[c.name] for c in chosen) / sum(c.weight for c in chosen)

    def label_credit(self, label: str) -> float:
        """A label's credit: ``index / (len(scale) - 1)``."""
        return self.scale.index(label) / (len(self.scale) - 1)


def judge_dimensions(spec: Any) -> list[JudgeDimension]:
    """The spec's judge dimensions, in spec order; a spec without one is a usage error."""
    out = []
    gates = {d.gate for d in spec.dimensions if d.gate}
    for dimension, grader in zip(spec.dimensions, spec.graders):
        if dimension.grader == "judge":
            pays = dimension.weight > 0 or dimension.name in gates
            out.append(
                JudgeDimension(
                    dimension.name, grader, tuple(grader.params.rubric), tuple(grader.params.scale), pays
                )
            )
    if not out:
        raise CliError(
            f'{spec.path}: the spec has no judge dimension (grader = "judge"): nothing for judge-check to '
            "measure"
        )
    return out


@dataclass(frozen=True)
class LabelledRow:
    """One labelled reply: the record (prompt and reference), the reply and the human labels."""

    line: int
    record: Mapping[str, Any]
    response: str
    human: Mapping[str, str | Mapping[str, str]]  # dimension -> one label, or criterion -> label

    def human_credit(self, dimension: JudgeDimension) -> float:
        """The human's credit for the dimension, by the grader's formula over the labelled criteria (one
        label for the dimension: that label's credit)."""
        label = self.human[dimension.name]
        if isinstance(label, str):
            return dimension.label_credit(label)
        return dimension.credit_of({n: dimension.label_credit(v) for n, v in label.items()})


def load_labels(
    path: str | os.PathLike[str], dimensions: Sequence[JudgeDimension], *, limit: int | None = None
) -> list[LabelledRow]:
    """The labelled rows of ``path`` (the first ``limit``), checked; a ``CliError`` (exit 2) on the first
    problem."""
    from reward.dataset import iter_rows, validate_dataset_file

    file = Path(path)
    if not file.is_file():
        raise CliError(f"--labels {file}: no such file")
    report = validate_dataset_file(file, role="validation", min_rows=0)
    if report.error_count:
        first = report.errors[0]
        more = (
            f" (and {report.error_count - 1} more: `rft validate-data {file}`)"
            if report.error_count > 1
            else ""
        )
        where = f"{file}:{first.line}" if first.line else str(file)
        raise CliError(f"{where}: {first.code}: {first.message} — {first.hint}{more}")
    rows: list[LabelledRow] = []
    for line, record in iter_rows(file):
        rows.append(_labelled(file, line, record, dimensions))
    if len(rows) < MIN_ROWS:
        raise CliError(
            f"{file}: {len(rows)} labelled rows; judge-check needs at least {MIN_ROWS} (label more replies, "
            "across the whole scale)"
        )
    if limit is not None:
        if limit < MIN_ROWS:
            raise CliError(f"--limit {limit}: judge-check needs at least {MIN_ROWS} rows")
        rows = rows[:limit]
    return rows


def _labelled(
    file: Path, line: int, record: Mapping[str, Any], dimensions: Sequence[JudgeDimension]
) -> LabelledRow:
    where = f"{file}:{line}"
    response = record.get("response")
    if not isinstance(response, str):
        raise CliError(
            f"{where}: `response` must be a string (the reply to judge), got "
            f"{'nothing' if response is None else type(response).__name__}"
        )
    human = record.get("human")
    if not isinstance(human, Mapping):
        names = ", ".join(d.name for d in dimensions)
        raise CliError(
            f"{where}: `human` must be an object with a label for each judge dimension ({names}), got "
            f"{'nothing' if human is None else type(human).__name__}"
        )
    by_name = {d.name: d for d in dimensions}
    for key in human:
        if key not in by_name:
            raise CliError(
                f"{where}: human.{key}: not a judge dimension of the spec{_did_you_mean(key, by_name)}"
            )
    labels: dict[str, str | Mapping[str, str]] = {}
    for dimension in dimensions:
        if dimension.name not in human:
            raise CliError(
                f"{where}: human.{dimension.name} is missing: label every judge dimension "
                f"({', '.join(by_name)}) with one label of its scale or a label per criterion"
            )
        labels[dimension.name] = _dimension_labels(where, dimension, human[dimension.name])
    return LabelledRow(line, record, response, labels)


def _dimension_labels(where: str, dimension: JudgeDimension, value: Any) -> str | Mapping[str, str]:
    key = f"human.{dimension.name}"
    if isinstance(value, str):
        _check_label(where, key, dimension, value)
        return value
    if not isinstance(value, Mapping):
        raise CliError(
            f"{where}: {key} must be one label of the scale or an object of labels per criterion, got "
            f"{type(value).__name__}"
        )
    names = dimension.criterion_names
    for criterion in value:
        if criterion not in names:
            raise CliError(
                f"{where}: {key}.{criterion}: no such criterion in dimension {dimension.name!r}"
                f"{_did_you_mean(criterion, names)} (criteria: {', '.join(names)})"
            )
    if not value:
        raise CliError(
            f"{where}: {key} is an empty object: label the criteria ({', '.join(names)}) or give one label for "
            "the whole dimension"
        )
    labelled = [n for n in names if n in value]  # rubric order; criteria left out are not measured
    for criterion in labelled:
        _check_label(where, f"{key}.{criterion}", dimension, value[criterion])
    return {n: value[n] for n in labelled}


def _check_label(where: str, key: str, dimension: JudgeDimension, label: Any) -> None:
    if isinstance(label, str) and label in dimension.scale:
        return
    scale = ", ".join(dimension.scale)
    hint = _did_you_mean(label, dimension.scale) if isinstance(label, str) else ""
    raise CliError(f"{where}: {key}: {label!r} is not on the scale ({scale}){hint}")


def _did_you_mean(word: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    options = list(choices)
    folded = {c.casefold(): c for c in options}
    match = folded.get(word.casefold()) or next(iter(difflib.get_close_matches(word, options, n=1)), None)
    return f"; did you mean {match!r}?" if match else ""
