"""``rft probe``: try known reward hacks on every row and report which ones the spec pays for.

For each row the positive control (the reference answer written with the spec's ``control_template``)
and every attack family of ``rft.attacks`` are graded through ``reward.handler.lambda_handler``. A family
*wins* a row when its best variant scores at or above the control. The probe fails (exit status 1) when
some family wins more than ``--threshold`` of the rows it applies to: train on that spec and the policy
will learn the hack instead of the task.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rft import attacks, core
from rft.core import EXIT_FAILURE, EXIT_OK, CliError, Context

HELP = "probe a reward spec with known reward hacks (exit 1 if any family beats the reference answer)"
DESCRIPTION = (
    "Try known reward hacks on every row and report which ones the spec pays for. For each row the "
    "positive control (the reference answer written with the spec's control_template) and every family "
    "of attacks (hedging, padding, echoing the prompt, format tricks, ...) are graded with the reward "
    "Lambda's own code. A family wins a row when its best variant scores at or above the control. The "
    "probe fails (exit status 1) when some family wins more than --threshold of the rows it applies to: "
    "train on that spec and the model will learn the hack instead of the task."
)
_TIE = 1e-9  # scores are floats from a weighted mean: equal within this counts as "at or above"
_JUDGED = ("ok", "unscorable")
#: Rows the grader-bomb family is tried on: every bomb may cost a full sample budget (5 s by default).
BOMB_ROWS = 2


@dataclass
class FamilyResult:
    """How one attack family fared over the rows it applies to."""

    family: str
    margins: list[float] = field(default_factory=list)  # best variant - control, per row
    scores: list[float] = field(default_factory=list)  # best variant's score, per row
    wins: list[tuple[int, str, str, float, float]] = field(
        default_factory=list
    )  # line, variant, text, score, control
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def n(self) -> int:
        return len(self.margins)

    @property
    def win_rate(self) -> float:
        return len(self.wins) / self.n if self.n else 0.0

    @property
    def mean_margin(self) -> float:
        return sum(self.margins) / self.n if self.n else 0.0


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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probe", help=HELP, description=DESCRIPTION)
    parser.add_argument("--spec", required=True, help="reward spec (TOML)")
    parser.add_argument("--data", required=True, help="dataset (Nova RFT JSONL)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.01,
        metavar="RATE",
        help="fail when a family wins more than this fraction of rows (default 0.01 = 1%%)",
    )
    parser.add_argument("--out", metavar="DIR", help="write probe.jsonl and probe.png here")
    parser.add_argument("--limit", type=int, metavar="N", help="probe only the first N rows")
    parser.add_argument(
        "--batch", type=int, default=256, metavar="N", help="samples per handler call (default 256)"
    )
    core.add_skip_invalid(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    if not 0 <= args.threshold < 1:
        raise CliError(f"--threshold must be in [0, 1), got {args.threshold}")
    core.check_at_least_one(("--batch", args.batch), ("--limit", args.limit))
    spec = core.use_spec(args.spec)
    rows = core.load_rows(args.data, limit=args.limit, err=ctx.err)
    from reward.controls import check_template

    problem = check_template(spec.control_template, [row.reference for row in rows])
    if problem:
        raise CliError(f"{args.spec}: {problem}")
    result, records = probe(spec, rows, threshold=args.threshold, batch_size=args.batch, err=ctx.err)
    print(report(result, args.spec, args.data), file=ctx.out)
    if args.out:
        directory = core.output_dir(args.out)
        core.write_jsonl(directory / "probe.jsonl", records)
        from rft.plots import probe_distributions

        probe_distributions(
            directory / "probe.png",
            result.control,
            {f.family: f.scores for f in result.families if f.n},
            failing=[f.family for f in result.failing],
            title=f"rft probe: {result.spec_name} on {len(rows)} rows",
        )
        print(f"\nwrote {directory / 'probe.jsonl'} and {directory / 'probe.png'}", file=ctx.out)
    skipped = None if args.skip_invalid else rows.skipped_error()
    if skipped:
        print(f"rft probe: error: {skipped}", file=ctx.err)
    return EXIT_FAILURE if result.failing or skipped else EXIT_OK


#: Rows whose attacks are built and graded together: memory stays flat however large the file (every
#: row yields ~25 responses, some of them tens of KB of padding).
ROW_CHUNK = 256


def probe(
    spec: Any, rows: Sequence[core.Row], *, threshold: float, batch_size: int = 256, err: Any = None
) -> tuple[ProbeResult, list[dict[str, Any]]]:
    """Grade every row's control and attacks; returns the result and one record per graded attack.

    Linear in the rows: attacks are built, graded and tallied ``ROW_CHUNK`` rows at a time, and only
    what the report needs is kept (scores, the first few winning responses), never every response.
    """
    from reward.contract import check_reply

    references = [row.reference for row in rows]
    labels, answer_keys = attacks.spec_labels(spec)
    dimensions = [d.name for d in spec.dimensions]
    grader = core.local_grader()
    families = {name: FamilyResult(name) for name in attacks.FAMILIES}
    control_scores: list[float] = []
    ungradable: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    samples = 0
    started = time.perf_counter()
    progress = core.Progress(len(rows), "probing rows", stream=err)
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
            )
            for i in chunk
        }
        elements = []
        for i, row_attacks in built.items():
            elements.append(core.event_element(rows[i], row_attacks.control, f"{i}:control"))
            for k, attack in enumerate(row_attacks.attacks):
                elements.append(core.event_element(rows[i], attack.response, f"{i}:{k}"))
        samples += len(elements)
        reply = core.grade_all(elements, grader, batch_size=batch_size, check=check_reply)
        by_id = {element["id"]: core.read_reply_element(element, dimensions) for element in reply}
        for i, row_attacks in built.items():
            _tally(rows[i], i, row_attacks, by_id, families, control_scores, ungradable, records)
        progress.advance(len(chunk))
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
    row: core.Row,
    i: int,
    row_attacks: attacks.RowAttacks,
    by_id: Mapping[str, core.Scored],
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
    for k, attack in enumerate(row_attacks.attacks):
        score = by_id[f"{i}:{k}"].aggregate
        records.append(
            {
                "line": row.line,
                "task_id": row.task_id,
                "family": attack.family,
                "variant": attack.variant,
                "score": score,
                "control": control.aggregate,
                "wins": score >= control.aggregate - _TIE,
            }
        )
        if attack.family not in best or score > best[attack.family][0]:
            best[attack.family] = (score, attack)
    for name, family in families.items():
        if name in best:
            score, attack = best[name]
            family.scores.append(score)
            family.margins.append(score - control.aggregate)
            if score >= control.aggregate - _TIE:
                text = attack.response if len(family.wins) < _KEPT_WINS else ""
                family.wins.append((row.line, attack.variant, text, score, control.aggregate))
        else:
            family.skipped[row_attacks.skipped.get(name, "not applicable")] += 1


def report(result: ProbeResult, spec_path: str, data_path: str) -> str:
    """The probe's table and verdict, as printed by ``rft probe``."""
    lines = [
        f"probe {result.spec_name} ({spec_path}) on {data_path}: {result.rows} rows, "
        f"{result.samples} responses graded in {result.seconds:.2f} s",
        "",
    ]
    control = core.summarize(result.control)
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
    header = f"{'family':<18} {'rows':>5} {'wins':>5} {'win rate':>9} {'mean margin':>12} {'max margin':>11}  verdict"
    lines += [header, "-" * len(header)]
    lines.append(
        f"{'positive control':<18} {control.n:>5} {'':>5} {'':>9} {'':>12} {'':>11}  mean {control.mean:+.3f}"
        if control.n
        else f"{'positive control':<18} {0:>5}"
    )
    for family in result.families:
        if not family.n:
            reason = family.skipped.most_common(1)[0][0] if family.skipped else "not applicable"
            lines.append(
                f"{family.family:<18} {0:>5} {'-':>5} {'-':>9} {'-':>12} {'-':>11}  skipped: {reason}"
            )
            continue
        verdict = "FAIL" if family.win_rate > result.threshold else "ok"
        skipped = f" (skipped on {sum(family.skipped.values())} rows)" if family.skipped else ""
        lines.append(
            f"{family.family:<18} {family.n:>5} {len(family.wins):>5} {family.win_rate:>9.1%} "
            f"{family.mean_margin:>+12.3f} {max(family.margins):>+11.3f}  {verdict}{skipped}"
        )
    failing = result.failing
    lines.append("")
    if failing:
        names = ", ".join(f"{f.family} ({f.win_rate:.0%})" for f in failing)
        lines.append(
            f"FAIL: {len(failing)} attack famil{'y scores' if len(failing) == 1 else 'ies score'} at or above the reference "
            f"answer on more than {result.threshold:.0%} of rows: {names}."
        )
        for family in failing:
            line, variant, text, score, control_score = family.wins[0]
            shown = text if len(text) <= 160 else text[:80] + f" …[{len(text) - 150} chars]… " + text[-70:]
            lines.append(
                f"  {family.family}: e.g. line {line}, {variant!r} scores {score:+.3f} vs control {control_score:+.3f}: "
                f"{shown!r}"
            )
        lines.append(
            "Fix the spec (gate style on correctness, add a length or format dimension) before training on it."
        )
    else:
        lines.append(
            f"OK: no attack family reaches the reference answer's score on more than {result.threshold:.0%} of rows."
        )
    return "\n".join(lines)


def family_scores(result: ProbeResult) -> Mapping[str, list[float]]:
    """Best-variant scores per family (for plots and tests)."""
    out: dict[str, list[float]] = defaultdict(list)
    for family in result.families:
        out[family.family] = list(family.scores)
    return out
