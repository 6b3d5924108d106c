"""The numbers of ``rft judge-check`` for one judge dimension and one judge model: agreement with the
human labels (``rft.agreement``), self-consistency across repeats, and the bias probes (the judge alone
and the guarded grader)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rft import agreement
from rft.judge_check.judging import Job, JudgeRun, Judgment, sample_for
from rft.judge_check.labels import JudgeDimension, LabelledRow
from rft.judge_check.probes import MASTER_KEYS


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _rounded_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]


def _guarded(dimension: JudgeDimension, row: LabelledRow, text: str, raw: float) -> float:
    """The credit of the full grader: its pre-checks first (credit 0 without a call), else the judge's."""
    refused = dimension.grader.precheck(sample_for(row, text))
    return refused.score if refused is not None else raw


def measure_dimension(
    dimension: JudgeDimension,
    model: str,
    rows: Sequence[LabelledRow],
    jobs: Sequence[Job],
    run: JudgeRun,
) -> dict[str, Any]:
    """The numbers of one judge dimension for one judge model (see the module docstring)."""
    mine = [j for j in jobs if j.model == model and j.dimension == dimension.name]
    by_row: dict[int, dict[str, list[tuple[Job, Judgment]]]] = {}
    failed = 0
    for job in mine:
        judged = run.judged.get(job.key)
        if judged is None:
            failed += 1
            continue
        by_row.setdefault(job.row, {}).setdefault(job.probe, []).append((job, judged))

    k = len(dimension.scale)
    names = dimension.criterion_names
    units_h: list[int] = []  # pooled label pairs (kappa, confusion)
    units_j: list[int] = []
    by_row_units: dict[int, tuple[list[int], list[int]]] = {}  # the same pairs by row (the bootstrap)
    row_exact: list[bool] = []
    row_within: list[bool] = []
    credit_h: list[float] = []
    credit_j: list[float] = []
    flips: list[bool] = []
    per_criterion: dict[str, dict[str, Any]] = {
        n: {"h": [], "j": [], "ch": [], "cj": [], "flips": [], "rows": set()} for n in names
    }
    rises: list[bool] = []
    rises_guarded: list[bool] = []
    measured_rows = 0
    for i, row in enumerate(rows):
        repeats = [
            judged for _, judged in sorted(by_row.get(i, {}).get("response", []), key=lambda x: x[0].variant)
        ]
        if not repeats:
            continue
        measured_rows += 1
        human = row.human[dimension.name]
        human_credit = row.human_credit(dimension)
        for judged in repeats:
            judge_credit = judged.credit
            if isinstance(human, str):
                h, j = [dimension.scale.index(human)], [judged.dimension_label(dimension)]
            else:
                labelled = [n for n in names if n in human]
                every = dict(zip(names, judged.labels(dimension)))
                h = [dimension.scale.index(human[n]) for n in labelled]
                j = [every[n] for n in labelled]
                # The judge's credit over the same criteria the human labelled (all of them: its credit).
                judge_credit = dimension.credit_of({n: judged.criteria[n] for n in labelled})
                for n, hn, jn in zip(labelled, h, j):
                    c = per_criterion[n]
                    c["h"].append(hn)
                    c["j"].append(jn)
                    c["ch"].append(hn / (k - 1))
                    c["cj"].append(judged.criteria[n])
                    c["rows"].add(i)
            units_h += h
            units_j += j
            by_row_units.setdefault(i, ([], []))
            by_row_units[i][0].extend(h)
            by_row_units[i][1].extend(j)
            row_exact.append(h == j)
            row_within.append(all(abs(a - b) <= 1 for a, b in zip(h, j)))
            credit_h.append(human_credit)
            credit_j.append(judge_credit)
        if len(repeats) >= 2:
            verdicts = {judged.labels(dimension) for judged in repeats}
            flips.append(len(verdicts) > 1)
            if not isinstance(human, str):
                for index, n in enumerate(names):
                    if n in human:
                        per_criterion[n]["flips"].append(
                            len({v.labels(dimension)[index] for v in repeats}) > 1
                        )
        longer = by_row.get(i, {}).get("length", [])
        if longer:
            best = max(judged.credit for judged in repeats)
            padded_credit = longer[0][1].credit
            rises.append(padded_credit > best + 1e-9)
            best_guarded = max(_guarded(dimension, row, row.response, judged.credit) for judged in repeats)
            rises_guarded.append(
                _guarded(dimension, row, longer[0][0].text, padded_credit) > best_guarded + 1e-9
            )

    master: dict[str, list[float]] = {key: [] for key in MASTER_KEYS}
    master_guarded: list[float] = []
    echo: list[float] = []
    echo_guarded: list[float] = []
    for i, row in enumerate(rows):
        for job, judged in by_row.get(i, {}).get("master_key", []):
            master[MASTER_KEYS[job.variant]].append(judged.credit)
            master_guarded.append(_guarded(dimension, row, job.text, judged.credit))
        for job, judged in by_row.get(i, {}).get("rubric_echo", []):
            echo.append(judged.credit)
            echo_guarded.append(_guarded(dimension, row, job.text, judged.credit))
    master_all = [c for values in master.values() for c in values]

    criteria: dict[str, Any] = {}
    for n in names:
        c = per_criterion[n]
        if not c["h"]:
            continue
        criteria[n] = {
            "n": len(c["rows"]),
            "agreement": _rounded(agreement.exact(c["h"], c["j"])),
            "within_one": _rounded(agreement.within_one(c["h"], c["j"])),
            "kappa": _rounded(agreement.quadratic_kappa(c["h"], c["j"], k)),
            "spearman": _rounded(agreement.spearman(c["ch"], c["cj"])),
            "flip_rate": _rounded(_share(c["flips"])),
            "confusion": agreement.confusion(c["h"], c["j"], k),
        }
    return {
        "n": measured_rows,
        "agreement": _rounded(_share(row_exact)),
        "within_one": _rounded(_share(row_within)),
        "kappa": _rounded(agreement.quadratic_kappa(units_h, units_j, k)),
        "kappa_ci95": _rounded_pair(agreement.bootstrap_kappa(list(by_row_units.values()), k)),
        "spearman": _rounded(agreement.spearman(credit_h, credit_j)),
        "flip_rate": _rounded(_share(flips)),
        "length_bias": _rounded(_share(rises)),
        "master_key_max_credit": _rounded(max(master_all)) if master_all else None,
        "rubric_echo_credit": _rounded(max(echo)) if echo else None,
        "criteria": criteria,
        "guarded": {
            "length_bias": _rounded(_share(rises_guarded)),
            "master_key_max_credit": _rounded(max(master_guarded)) if master_guarded else None,
            "rubric_echo_credit": _rounded(max(echo_guarded)) if echo_guarded else None,
        },
        "master_key_credits": {key: _rounded(max(v)) if v else None for key, v in master.items()},
        "scale": list(dimension.scale),
        "confusion": agreement.confusion(units_h, units_j, k),
        "judgments_failed": failed,
    }


def number(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, ``n/a`` for None."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def percent(value: float | None) -> str:
    """``value`` as a whole percentage (a share that could not be measured says so)."""
    return "an unmeasured share" if value is None else f"{value:.0%}"
