"""``code``: the response's program passes the row's tests, run in a sandbox (``code_runner``).

Pipeline (extract → run → credit):

1. **Extract** — the last fenced ```` ```python ```` block of the response (``block = "first"`` takes the
   first; ``languages`` lists the fence tags accepted; ``untagged = true`` also accepts a bare ```` ``` ````
   fence). An unclosed fence does not count. No block → ``unscorable`` (a wrong answer).
2. **Run** — the whole batch goes to the runner at once (a batched grader): the code-runner Lambda named
   by ``CODE_RUNNER_FUNCTION`` when it is set (deployed), else ``code_runner.run_batch`` in local
   subprocesses with the same limits. The sandbox gets only test *inputs*; the runner compares what came
   out with the expected values, outside the process that ran the model's code.
3. **Credit** — passed / total tests, or 1 only when every test passes (``all_or_nothing = true``; the
   runner then stops a sample at its first failed test, so a hostile program costs one test's time).

Statuses: anything the program does (a wrong value, an exception, ``sys.exit``, a timeout, a crash, a
limit) is a failed test, so a judgement (``ok``). ``no_reference``: the row has no code task. ``error``:
the runner failed (never the program's doing); when several samples fail together the batch is re-run in
halves to find the one that breaks it, which then fails alone (``culprit``). ``deadline``: the batch
deadline came first.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reward.code_tasks import CodeTask, job_for, read_task
from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade, InfrastructureError

logger = logging.getLogger("reward.code")

RUNNER_ENV = "CODE_RUNNER_FUNCTION"
#: The runner's deadline comes this long before the grader's, so every sandbox is killed and reaped, and
#: its directory removed, before the batch is answered (no process outlives the batch).
CLEANUP_S = 1.0
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE
)
_REASON = 300

Runner = Callable[[dict[str, Any], float | None], dict[str, Any]]


@dataclass(frozen=True)
class CodeParams:
    block: str = "last"  # which fenced block is the program: "last" or "first"
    languages: tuple[str, ...] = ("python", "py", "python3")  # fence tags accepted (case-insensitive)
    untagged: bool = False  # also accept a fence without a language tag
    all_or_nothing: bool = False  # credit 1 only when every test passes (else: fraction passed)
    test_timeout_s: float = 2.0  # wall clock per test
    sample_timeout_s: float = 10.0  # wall clock for all of a sample's tests
    memory_mb: int = 256  # address space of the sandbox
    max_output_bytes: int = 1_000_000  # stdout of a program test
    max_file_bytes: int = 16_000_000
    float_tolerance: float = 1e-9  # relative and absolute, for float results
    max_program_chars: int = 50_000  # a longer program is not run (wrong)

    def __post_init__(self) -> None:
        if self.block not in ("last", "first"):
            raise ParamError("block", f"'block' must be 'last' or 'first', got {self.block!r}")
        if not self.languages and not self.untagged:
            raise ParamError(
                "languages", "'languages' is empty and 'untagged' is false: no block could match"
            )
        checks = {
            "test_timeout_s": (0.05, 60.0),
            "sample_timeout_s": (0.1, 600.0),
            "memory_mb": (64, 8192),
            "max_output_bytes": (1, 64_000_000),
            "max_file_bytes": (1024, 1_000_000_000),
            "float_tolerance": (0.0, 1.0),
            "max_program_chars": (1, 200_000),
        }
        for key, (low, high) in checks.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise ParamError(key, f"{key!r} must be in [{low:g}, {high:g}], got {value}")
        if self.sample_timeout_s < self.test_timeout_s:
            raise ParamError("sample_timeout_s", "'sample_timeout_s' must be >= 'test_timeout_s'")

    @property
    def limits(self) -> dict[str, Any]:
        return {
            "test_timeout_s": self.test_timeout_s,
            "sample_timeout_s": self.sample_timeout_s,
            "memory_mb": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "max_file_bytes": self.max_file_bytes,
            "float_tolerance": self.float_tolerance,
        }


def extract_program(
    text: str,
    *,
    block: str = "last",
    languages: Sequence[str] = ("python", "py", "python3"),
    untagged: bool = False,
) -> str | None:
    """The program in ``text``: the last (or first) closed fenced block with an accepted tag, else None."""
    accepted = {tag.lower() for tag in languages}
    found = [
        m.group(2)
        for m in _FENCE.finditer(text or "")
        if (m.group(1).lower() in accepted) or (untagged and not m.group(1))
    ]
    if not found:
        return None
    return found[-1] if block == "last" else found[0]


class CodeGrader(Grader):
    name = "code"
    Params = CodeParams
    needs_reference = True
    batched = True
    reads_answer = True  # the program is the answer: a spec's answer_after skips the reasoning before it

    def __init__(self, params: CodeParams, runner: Runner | None = None) -> None:
        super().__init__(params)
        self._runner = runner

    def grade(self, sample: Sample) -> Grade:
        """One sample, settled as the runner settles it (``reward.sample_grading.settle``)."""
        from reward.sample_grading import settle

        return settle(self.grade_many([sample], None)[0], self.name)

    def grade_many(
        self, samples: Sequence[Sample], deadline: float | None
    ) -> list[Grade | InfrastructureError]:
        p: CodeParams = self.params
        grades: list[Grade | InfrastructureError | None] = [None] * len(samples)
        jobs: list[dict[str, Any]] = []
        positions: dict[str, int] = {}
        for k, sample in enumerate(samples):
            task, problem = read_task(sample.reference)
            if task is None:
                grades[k] = Grade.no_reference(f"no code task in the reference: {problem}")
                continue
            program = extract_program(
                sample.response or "", block=p.block, languages=p.languages, untagged=p.untagged
            )
            if program is None or not program.strip():
                grades[k] = Grade.unscorable("no fenced python code block in the response")
                continue
            if len(program) > p.max_program_chars:
                grades[k] = Grade.wrong(
                    f"program is {len(program)} chars, over max_program_chars={p.max_program_chars}"
                )
                continue
            job_id = f"s{k}"
            positions[job_id] = k
            jobs.append(job_for(task, job_id, program, p.limits, stop_on_failure=p.all_or_nothing))
        if jobs:
            results = run_isolating(jobs, self._run, None if deadline is None else deadline - CLEANUP_S)
            for job_id, result in results.items():
                grades[positions[job_id]] = self._grade_of(result)
        return [g if g is not None else Grade.failed("the runner returned no result") for g in grades]

    def _run(self, request: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        if self._runner is not None:
            return self._runner(request, deadline)
        function = os.environ.get(RUNNER_ENV)
        if function:
            try:
                from reward.code_remote import invoke_runner  # the deployed runner's client
            except ImportError as exc:
                raise RuntimeError(f"{RUNNER_ENV} is set but reward.code_remote is missing: {exc}") from None
            return invoke_runner(request, function=function, deadline=deadline)
        from code_runner import run_batch

        return run_batch(request, deadline=deadline)

    def _grade_of(self, result: Mapping[str, Any]) -> Grade | InfrastructureError:
        p: CodeParams = self.params
        reason = str(result.get("reason", ""))[:_REASON]
        status = result.get("status")
        if status == "culprit":
            return Grade.wrong(f"the program broke the runner for its whole batch: {reason}")
        if status == "failed":  # the runner could not finish because of the program: charged to it
            return Grade.failed(f"code runner: {reason}")
        if status == "timeout":  # cut off by the batch deadline after using half its time: the slow one
            return Grade.timeout(f"code runner: {reason}")
        if status != "ok":
            if reason.startswith("deadline"):
                return Grade.deadline(reason)
            # the runner's own failure (a sandbox that could not start, access denied, throttled): ours
            return InfrastructureError(f"code runner: {reason}")
        passed, total = result.get("passed"), result.get("total")
        if (
            not isinstance(passed, int)
            or not isinstance(total, int)
            or total <= 0
            or not 0 <= passed <= total
        ):
            return Grade.failed(f"code runner returned passed={passed!r} total={total!r}")
        metrics = {"tests_passed": float(passed), "tests_total": float(total)}
        if p.all_or_nothing:
            return Grade(1.0 if passed == total else 0.0, reason=reason, metrics=metrics)
        return Grade.partial(passed / total, reason, **metrics)


def run_isolating(
    jobs: list[dict[str, Any]], run: Runner, deadline: float | None
) -> dict[str, dict[str, Any]]:
    """Results by job id, with the culprit of a failed batch isolated.

    A *call* fails as a whole when the runner raises, returns a malformed reply, or marks results
    ``"call_failed": true`` (the deployed client isolates crashed invocations itself). Jobs of failed
    calls are re-run in halves, recursively. A job whose call still fails when it is alone, once any other
    call has succeeded, broke its batch: status ``culprit`` (the response's failure). When every call
    fails nothing singles a job out: the fault is ours (``error``) for all of them. A per-job ``error``
    from a working runner is kept as is.
    """
    results = _call(jobs, run, deadline)
    failed = [j for j in jobs if _infra(results[j["id"]])]
    succeeded = len(failed) < len(jobs)

    def bisect(group: list[dict[str, Any]]) -> None:
        nonlocal succeeded
        if deadline is not None and time.monotonic() >= deadline:
            return
        if len(group) == 1:
            alone = _call(group, run, deadline)[group[0]["id"]]
            if _infra(alone) and succeeded:
                alone = {**alone, "status": "culprit"}
            results[group[0]["id"]] = alone
            succeeded = succeeded or not _infra(alone)
            return
        half = len(group) // 2
        for part in (group[:half], group[half:]):
            got = _call(part, run, deadline)
            results.update(got)
            failing = [j for j in part if _infra(got[j["id"]])]
            succeeded = succeeded or len(failing) < len(part)
            if failing:
                bisect(failing)

    if failed and len(jobs) > 1:
        bisect(failed)
    return results


def _infra(result: Mapping[str, Any]) -> bool:
    """The job's call failed as a whole (not: the runner reported an error for this job alone)."""
    return result.get("status") == "error" and bool(result.get("call_failed"))


def _call(jobs: list[dict[str, Any]], run: Runner, deadline: float | None) -> dict[str, dict[str, Any]]:
    """One runner call; a runner exception or a malformed reply is an ``error`` for each of its jobs."""
    ids = [j["id"] for j in jobs]
    try:
        reply = run({"version": 1, "jobs": jobs}, deadline)
        results = reply.get("results") if isinstance(reply, Mapping) else None
        if not isinstance(results, list):
            raise ValueError("reply has no 'results' list")
        by_id = {r.get("id"): r for r in results if isinstance(r, Mapping)}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ValueError(f"reply lacks results for {missing[:3]}")
        return {i: dict(by_id[i]) for i in ids}
    except Exception as exc:  # a crashed runner (or Lambda) is an infrastructure failure of this batch
        logger.warning("code runner call failed for %d jobs: %s", len(jobs), exc)
        reason = f"runner call failed: {type(exc).__name__}: {str(exc)[:200]}"
        return {
            i: {
                "id": i,
                "status": "error",
                "passed": 0,
                "total": 0,
                "tests": [],
                "reason": reason,
                "call_failed": True,
            }
            for i in ids
        }


__all__ = ["CodeGrader", "CodeParams", "CodeTask", "extract_program", "run_isolating"]
