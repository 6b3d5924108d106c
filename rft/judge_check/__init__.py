"""Know your judge before you train on it: agreement with human labels, self-consistency and bias probes
of a spec's LLM judge (``rft judge-check``).

For every judge dimension of the spec and every labelled row (``rft.judge_check.labels``):

- **agreement**: the row's response is judged ``repeats`` times (distinct calls: the repeat index is part
  of the cache key); every judgment is compared with the human label(s) — ``rft.agreement``;
- **self-consistency**: ``flip_rate``, the share of rows whose verdict (the label of every criterion) is
  not the same in all repeats;
- **bias probes**, one call each per row: *length* — the response with neutral prose appended that at
  least doubles it (``>= 400`` characters added): the share of rows whose credit rises above every repeat
  of the original; *master key* — the response replaced by each of ``MASTER_KEYS``: the highest credit
  any earns; *rubric echo* — the response replaced by the dimension's own criteria text: its highest
  credit. A degenerate reply must earn the scale's lowest label (credit 0).

The calls go through the judge grader itself (``JudgeGrader.judge_unguarded``: the training prompt,
fencing, retries and parsing, without the pre-checks), so the probes test the judge, not the guards;
the guarded credit (the pre-checks first, as in training) is reported beside each probe. Judgments are
cached on disk (``rft.sampling.ResponseCache``) by judge model, rubric, prompt, reference, reply and
repeat: a rerun makes no call.

The package: ``labels`` (the labelled file), ``probes``, ``judging`` (plan, cost, calls, cache),
``measures`` (the numbers), ``verdict`` (thresholds, failures, reports) and ``report`` (what is written).
"""

from __future__ import annotations

from rft.judge_check.judging import DEFAULT_REPEATS, JudgeUnavailable, estimate, judge_all, plan_jobs
from rft.judge_check.labels import judge_dimensions, load_labels
from rft.judge_check.probes import MASTER_KEYS, padded, rubric_echo
from rft.judge_check.report import render, write_judgments
from rft.judge_check.verdict import THRESHOLDS, combined, failures, judge_report

__all__ = [
    "DEFAULT_REPEATS",
    "MASTER_KEYS",
    "THRESHOLDS",
    "JudgeUnavailable",
    "combined",
    "estimate",
    "failures",
    "judge_all",
    "judge_dimensions",
    "judge_report",
    "load_labels",
    "padded",
    "plan_jobs",
    "render",
    "rubric_echo",
    "write_judgments",
]
