"""``rft probe``: try known reward hacks on every row and report which ones the spec pays for.

For each row the positive control (the reference answer written with the spec's ``control_template``)
and every attack family of ``rft.attacks`` are graded through ``reward.grading.grade_event`` (the handler's code). Each
family declares what it is (``rft.attacks.family_kind``), and that decides its bar:

- a response that does not commit to exactly the right answer (hedges, every option, empty, injection,
  lookalikes, contradictions, bombs, crashes, stalls, sandbox abuse, ...) *wins* a row when its best
  variant scores above that row's honest wrong answer (the ``wrong_answer`` family);
- a right answer with a flaw (padding, scaffold) and the honest wrong answer itself win a row when they
  score at or above the reference.

The probe fails (exit status 1) when some family wins more than ``--threshold`` of the rows it applies
to (default 1%: OK means every family stays at or under its bar on 99% of rows), and when fewer than 99%
of the rows could be probed at all ("nothing was probed": the spec cannot grade the reference answers).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rft import attacks
from rft.grading import Scored, grade_all, local_grader, read_reply_element
from rft.rows import Row, event_element
from rft.stats import summarize
from rft.ui import progress_bar

_TIE = 1e-9  # scores are floats from a weighted mean: equal within this counts as "at or above"
_JUDGED = ("ok", "unscorable")
#: Rows the grader-bomb family is tried on: every bomb may cost a full sample budget (5 s by default).
BOMB_ROWS = 2
#: Least share of rows whose reference answer must be gradable for the probe to say anything.
PROBED_RATE = 0.99


@dataclass
class FamilyResult:
    """How one attack family fared over the rows it applies to.

    ``kind`` is its bar (``rft.attacks.family_kind``): ``"uncommitted"`` families must score at most the
    row's honest wrong answer, ``"flawed"`` ones (and the wrong answer itself) below the reference."""

    family: str
    kind: str = "uncommitted"
    margins: list[float] = field(default_factory=list)  # best variant - control (the reference), per row
    wrong_margins: list[float] = field(default_factory=list)  # best variant - honest wrong answer, per row
    scores: list[float] = field(default_factory=list)  # best variant's score, per row
    wins: list[tuple[int, str, str, float, float]] = field(
        default_factory=list
    )  # line, variant, text, score, bar
    skipped: Counter[str] = field(default_factory=Counter)
    relaxed: int = 0  # rows where the family was a flawed right answer (free-text reply): bar the reference

    @property
    def n(self) -> int:
        return len(self.margins)

    @property
    def win_rate(self) -> float:
        return len(self.wins) / self.n if self.n else 0.0

    @property
    def mean_margin(self) -> float:
        return sum(self.margins) / self.n if self.n else 0.0

    @property
    def bar(self) -> str:
        return "reference" if self.kind == "flawed" or self.family == "wrong_answer" else "wrong_answer"

    def as_dict(self, threshold: float) -> dict[str, Any]:
        """The family's row of the ``--json`` report."""
        return {
            "family": self.family,
            "kind": self.kind,
            "bar": self.bar,
            "rows": self.n,
            "wins": len(self.wins),
            "win_rate": self.win_rate,
            "max_margin_vs_reference": max(self.margins) if self.margins else None,
            "mean_margin_vs_reference": self.mean_margin if self.n else None,
            "max_margin_vs_wrong_answer": max(self.wrong_margins) if self.wrong_margins else None,
            "rows_against_reference": self.relaxed,
            "verdict": None if not self.n else ("FAIL" if self.win_rate > threshold else "ok"),
            "skipped": dict(self.skipped),
        }


@dataclass(frozen=True)
class ProbeResult:
    spec_name: str
    rows: int
    control: tuple[float, ...]
    ungradable: Mapping[str, int]  # control statuses that are not judgements, with how many rows
    families: tuple[FamilyResult, ...]
    threshold: float
    samples: int
    seconds: float

    @property
    def failing(self) -> list[FamilyResult]:
        return [f for f in self.families if f.n and f.win_rate > self.threshold]

    @property
    def probed(self) -> int:
        """Rows whose reference answer was graded (a judgement): the only rows the families are compared on."""
        return len(self.control)

    def nothing_probed(self) -> str | None:
        """Why the probe says nothing (fewer than 99% of rows probed), or None."""
        if self.rows and self.probed >= PROBED_RATE * self.rows:
            return None
        detail = "; ".join(f"{n} rows {status}" for status, n in self.ungradable.items()) or "no rows"
        return (
            f"nothing was probed: the reference answer could be graded on only {self.probed} of {self.rows} "
            f"rows (under {PROBED_RATE:.0%}; {detail})"
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` report."""
        control = summarize(self.control)
        return {
            "spec": self.spec_name,
            "rows": self.rows,
            "probed": self.probed,
            "ungradable": dict(self.ungradable),
            "control_mean": control.mean if control.n else None,
            "threshold": self.threshold,
            "samples": self.samples,
            "families": [f.as_dict(self.threshold) for f in self.families],
            "failing": [f.family for f in self.failing],
            "nothing_probed": self.nothing_probed(),
            "ok": not self.failing and self.nothing_probed() is None,
        }


#: Rows whose attacks are built and graded together: memory stays flat however large the file (every
#: row yields ~25 responses, some of them tens of KB of padding).
ROW_CHUNK = 256


def probe(
    spec: Any, rows: Sequence[Row], *, threshold: float, batch_size: int = 256, err: Any = None
) -> tuple[ProbeResult, list[dict[str, Any]]]:
    """Grade every row's control and attacks; returns the result and one record per graded attack.

    Linear in the rows: attacks are built, graded and tallied ``ROW_CHUNK`` rows at a time, and only
    what the report needs is kept (scores, the first few winning responses), never every response.
    """
    from reward.contract import check_reply

    references = [row.reference for row in rows]
    labels, answer_keys = attacks.spec_labels(spec)
    forbidden = attacks.spec_forbidden_terms(spec)
    dimensions = [d.name for d in spec.dimensions]
    grader = local_grader(spec)
    families = {name: FamilyResult(name, attacks.family_kind(name)) for name in attacks.FAMILIES}
    control_scores: list[float] = []
    ungradable: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    samples = 0
    started = time.perf_counter()
    progress = progress_bar(len(rows), "probing rows", err=err, unit="row")
    for first in range(0, len(rows), ROW_CHUNK):
        chunk = range(first, min(first + ROW_CHUNK, len(rows)))
        built = {
            i: attacks.build(
                rows[i].record,
                spec.control_template,
                distractor=attacks.pick_distractor(references, i, keys=answer_keys),
                max_chars=spec.max_response_chars,
                labels=labels,
                answer_keys=answer_keys,
                skip_bombs=None if i < BOMB_ROWS else f"bombs are tried on the first {BOMB_ROWS} rows only",
                forbidden=forbidden,
                judged=spec.uses_judge,
            )
            for i in chunk
        }
        elements = []
        for i, row_attacks in built.items():
            elements.append(event_element(rows[i], row_attacks.control, f"{i}:control"))
            for k, attack in enumerate(row_attacks.attacks):
                elements.append(event_element(rows[i], attack.response, f"{i}:{k}"))
        samples += len(elements)
        reply = grade_all(elements, grader, batch_size=batch_size, check=check_reply)
        by_id = {element["id"]: read_reply_element(element, dimensions) for element in reply}
        for i, row_attacks in built.items():
            _tally(rows[i], i, row_attacks, by_id, families, control_scores, ungradable, records)
        progress.update(len(chunk))
    progress.close()
    result = ProbeResult(
        spec_name=spec.name,
        rows=len(rows),
        control=tuple(control_scores),
        ungradable=dict(ungradable),
        families=tuple(families.values()),
        threshold=threshold,
        samples=samples,
        seconds=time.perf_counter() - started,
    )
    return result, records


_KEPT_WINS = 5  # winning responses kept per family for the report (the count is kept in full)


def _tally(
    row: Row,
    i: int,
    row_attacks: attacks.RowAttacks,
    by_id: Mapping[str, Scored],
    families: dict[str, FamilyResult],
    control_scores: list[float],
    ungradable: Counter[str],
    records: list[dict[str, Any]],
) -> None:
    control = by_id[f"{i}:control"]
    not_judged = sorted({s for s in control.statuses.values() if s not in _JUDGED})
    if not_judged:
        ungradable[", ".join(not_judged)] += 1
        return
    control_scores.append(control.aggregate)
    best: dict[str, tuple[float, attacks.Attack]] = {}
    scores = [by_id[f"{i}:{k}"].aggregate for k in range(len(row_attacks.attacks))]
    wrong = max(
        (s for s, a in zip(scores, row_attacks.attacks) if a.family == "wrong_answer"), default=None
    )  # the row's honest wrong answer: the bar of every family that does not commit to the right answer
    for attack, score in zip(row_attacks.attacks, scores):
        bar = _bar(families[attack.family], control.aggregate, wrong, attack.kind)
        records.append(
            {
                "line": row.line,
                "task_id": row.task_id,
                "family": attack.family,
                "kind": attack.kind or families[attack.family].kind,
                "variant": attack.variant,
                "score": score,
                "control": control.aggregate,
                "wrong_answer": wrong,
                "margin_vs_reference": score - control.aggregate,
                "margin_vs_wrong_answer": None if wrong is None else score - wrong,
                "wins": _wins(score, bar),
            }
        )
        if attack.family not in best or score > best[attack.family][0]:
            best[attack.family] = (score, attack)
    for name, family in families.items():
        if name in best:
            score, attack = best[name]
            family.scores.append(score)
            family.margins.append(score - control.aggregate)
            if wrong is not None:
                family.wrong_margins.append(score - wrong)
            bar = _bar(family, control.aggregate, wrong, attack.kind)
            if attack.kind == "flawed" and family.kind != "flawed":
                family.relaxed += 1
            if _wins(score, bar):
                text = attack.response if len(family.wins) < _KEPT_WINS else ""
                family.wins.append((row.line, attack.variant, text, score, bar[0]))
        else:
            family.skipped[row_attacks.skipped.get(name, "not applicable")] += 1


def _bar(
    family: FamilyResult, control: float, wrong: float | None, kind: str | None = None
) -> tuple[float, bool]:
    """``(score, inclusive)``: a family wins a row at a score above it (at or above it when inclusive).

    An uncommitted family's bar is the row's honest wrong answer (above it wins); a flawed family's and
    the wrong answer's is the reference (at or above it wins). A row without a wrong answer falls back on
    the reference."""
    if family.bar == "wrong_answer" and kind != "flawed" and wrong is not None:
        return wrong, False
    return control, True


def _wins(score: float, bar: tuple[float, bool]) -> bool:
    value, inclusive = bar
    return score >= value - _TIE if inclusive else score > value + _TIE


def report(result: ProbeResult, spec_path: str, data_path: str) -> str:
    """The probe's table and verdict, as printed by ``rft probe``."""
    lines = [
        f"probe {result.spec_name} ({spec_path}) on {data_path}: {result.rows} rows, "
        f"{result.samples} responses graded in {result.seconds:.2f} s",
        "",
    ]
    control = summarize(result.control)
    if result.ungradable:
        detail = "; ".join(f"{n} rows {status}" for status, n in result.ungradable.items())
        lines.append(
            f"warning: the reference answer could not be graded on some rows ({detail}); they are left out."
        )
    if control.n and control.min < 1.0 - _TIE:
        below = sum(1 for v in result.control if v < 1.0 - _TIE)
        lines.append(
            f"note: the positive control scores below +1.000 on {below} of {control.n} rows (min {control.min:+.3f}); "
            "check control_template and the reference answers."
        )
    header = (
        f"{'family':<18} {'bar':<12} {'rows':>5} {'wins':>5} {'win rate':>9} {'max vs wrong':>13} "
        f"{'max vs ref':>11}  verdict"
    )
    lines += [header, "-" * len(header)]
    lines.append(
        f"{'positive control':<18} {'':<12} {control.n:>5} {'':>5} {'':>9} {'':>13} {'':>11}  mean {control.mean:+.3f}"
        if control.n
        else f"{'positive control':<18} {'':<12} {0:>5}"
    )
    for family in result.families:
        if not family.n:
            reason = family.skipped.most_common(1)[0][0] if family.skipped else "not applicable"
            lines.append(
                f"{family.family:<18} {family.bar:<12} {0:>5} {'-':>5} {'-':>9} {'-':>13} {'-':>11}  skipped: {reason}"
            )
            continue
        verdict = "FAIL" if family.win_rate > result.threshold else "ok"
        skipped = f" (skipped on {sum(family.skipped.values())} rows)" if family.skipped else ""
        if family.relaxed:
            skipped += f" (vs the reference on {family.relaxed} rows)"
        vs_wrong = f"{max(family.wrong_margins):+.3f}" if family.wrong_margins else "-"
        lines.append(
            f"{family.family:<18} {family.bar:<12} {family.n:>5} {len(family.wins):>5} {family.win_rate:>9.1%} "
            f"{vs_wrong:>13} {max(family.margins):>+11.3f}  {verdict}{skipped}"
        )
    failing = result.failing
    lines.append("")
    if failing:
        names = ", ".join(f"{f.family} ({f.win_rate:.0%})" for f in failing)
        lines.append(
            f"FAIL: {len(failing)} attack famil{'y beats its bar' if len(failing) == 1 else 'ies beat their bar'} "
            f"(the honest wrong answer, or the reference for a flawed right answer) on more than "
            f"{result.threshold:.0%} of rows: {names}."
        )
        for family in failing:
            line, variant, text, score, bar = family.wins[0]
            shown = text if len(text) <= 160 else text[:80] + f" …[{len(text) - 150} chars]… " + text[-70:]
            lines.append(
                f"  {family.family}: e.g. line {line}, {variant!r} scores {score:+.3f} vs {family.bar} {bar:+.3f}: "
                f"{shown!r}"
            )
        lines.append(
            "Fix the spec (gate style on correctness, tighten answer_pattern, add a length or format dimension) "
            "before training on it."
        )
    else:
        lines.append(
            f"OK: on at least {1 - result.threshold:.0%} of rows no attack scores above the honest wrong answer, "
            "and no flawed right answer reaches the reference."
        )
    return "\n".join(lines)
