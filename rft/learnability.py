"""Whether a dataset can teach the model anything under this reward (``rft baseline``): the verdict and its
thresholds, and the learnable subset of the rows.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rft import measure
from rft.errors import EXIT_FAILURE, CliError
from rft.output import write_jsonl
from rft.rows import Row

#: Verdict thresholds (AWS's RFT guidance: above ~95% reward RFT is probably unnecessary; near 0% the
#: model needs SFT first).
TOO_EASY_PASS_RATE = 0.95
TOO_EASY_SOLVED_SHARE = 0.90
TOO_HARD_PASS_RATE = 0.05
TOO_HARD_UNSOLVED_SHARE = 0.90
MIN_SIGNAL_SHARE = 0.10
THRESHOLDS = (
    f"too_easy: pass rate >= {TOO_EASY_PASS_RATE} or solved share >= {TOO_EASY_SOLVED_SHARE}; "
    f"too_hard: pass rate <= {TOO_HARD_PASS_RATE} or unsolved share >= {TOO_HARD_UNSOLVED_SHARE}; "
    f"otherwise learnable when signal share >= {MIN_SIGNAL_SHARE}, else the larger of solved/unsolved"
)


def verdict(report: Mapping[str, Any]) -> str:
    """``too_easy`` / ``too_hard`` / ``learnable`` from the report's shares (see ``THRESHOLDS``)."""
    pass_rate = report.get("pass_rate")
    solved = report.get("solved_share") or 0.0
    unsolved = report.get("unsolved_share") or 0.0
    signal = report.get("signal_share") or 0.0
    if pass_rate is None:
        raise CliError("no sample could be graded: nothing to judge (see the statuses above)", EXIT_FAILURE)
    if pass_rate >= TOO_EASY_PASS_RATE or solved >= TOO_EASY_SOLVED_SHARE:
        return "too_easy"
    if pass_rate <= TOO_HARD_PASS_RATE or unsolved >= TOO_HARD_UNSOLVED_SHARE:
        return "too_hard"
    if signal >= MIN_SIGNAL_SHARE:
        return "learnable"
    return "too_easy" if solved >= unsolved else "too_hard"


ADVICE = {
    "too_easy": "the base model already does this: RFT has little to teach (harder prompts, a stricter reward)",
    "too_hard": "the base model rarely succeeds: RFT gets no signal (SFT first, easier prompts, partial credit)",
    "learnable": "the K samples disagree on enough prompts for RFT to learn from",
}


def write_learnable(
    path: Path,
    rows: Sequence[Row],
    prompts: Sequence[measure.PromptStats],
    keep_solved: float,
    report: dict[str, Any],
) -> Path:
    """The rows with signal, plus ``keep_solved`` of the always-solved rows (a fixed, seeded choice), as
    they are in the dataset; validated with the dataset validator."""
    from reward.dataset import validate_dataset_file

    signal = [p.prompt_index for p in prompts if p.signal]
    solved = [p.prompt_index for p in prompts if p.solved]
    chooser = random.Random(0)
    kept_solved = sorted(chooser.sample(solved, round(keep_solved * len(solved)))) if solved else []
    chosen = sorted(set(signal) | set(kept_solved))
    if not chosen:
        raise CliError(
            f"--write-learnable {path}: no prompt carries signal, so there is nothing to write "
            "(see the verdict)",
            EXIT_FAILURE,
        )
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, (dict(rows[i].record) for i in chosen))
    check = validate_dataset_file(path, min_rows=0)
    if check.error_count:
        first = check.errors[0]
        raise CliError(
            f"{path}: the written rows fail validation (line {first.line}: {first.message})",
            EXIT_FAILURE,
        )
    report["learnable"] = {
        "path": str(path),
        "rows": len(chosen),
        "signal_rows": len(signal),
        "solved_rows_kept": len(kept_solved),
        "note": (
            "" if len(chosen) >= 100 else f"{len(chosen)} rows: RFT training data needs at least 100 records"
        ),
    }
    return path
