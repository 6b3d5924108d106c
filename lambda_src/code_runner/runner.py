"""``run_batch``: run a batch of jobs (one sample's program against its tests each), decide every test.

Request and reply (version 1; everything JSON)::

    {"version": 1, "jobs": [{"id": "s1", "language": "python", "program": "...",
                             "format": "function" | "program" | "assert", "entry_point": "f" | null,
                             "tests": [...], "test_code": "..." | null, "limits": {...},
                             "stop_on_failure": false}]}
    {"version": 1, "results": [{"id": "s1", "status": "ok" | "error", "passed": 3, "total": 4,
                                "tests": [{"passed": true, "status": "passed", "reason": ""}, ...],
                                "reason": "3/4 tests passed; ..."}]}

``tests`` by format: function ``[{"args": [...], "kwargs": {...}, "expected": <JSON>}]``; program
``[{"stdin": "...", "stdout": "..."}]``; assert: ``test_code`` holds the asserts (``code_runner.asserts``).
The expected values stay in this process: the sandbox only ever gets the inputs. ``limits`` (optional)
overrides ``Limits`` fields; ``stop_on_failure`` (optional) ends a sample at its first failed test (the
rest are ``not_run``), for all-or-nothing credit.

One result per job, same ids, same order. ``status`` is ``ok`` (tests decided), ``error`` only for a failure
of ours (a malformed request, a sandbox that could not start, the batch deadline before the sample used half
its time: then ``reason`` starts with ``deadline:``), ``failed`` when the runner could not finish the job
because of what the program did (it broke the runner's decoding, left files that could not be removed)
and ``timeout`` when the batch deadline cut off a sample that had used at least half its time — both are
the program's failure, scored like a wrong answer. Anything else the program does is a failed test. Test statuses: ``passed``, ``wrong`` (a value or
output that is not the expected one), ``raised`` (an exception, a non-zero exit status, ``sys.exit``),
``timeout``, ``died`` (the process ended during the test: ``os._exit``, a signal, a memory or CPU limit),
``not_run`` (the program did not load, or the sample's time budget was spent).

Jobs run concurrently (``parallelism`` processes at a time, default: CPU count); each job is one harness
process running all its tests, restarted after a test that kills it or overruns.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

from code_runner.asserts import AssertTest, parse_asserts
from code_runner.compare import compare, encode_expected, normalize_output, values_equal
from code_runner.sandbox import run_attempt

VERSION = 1
LANGUAGES = ("python",)
FORMATS = ("function", "program", "assert")
MAX_JOBS = 1024
MAX_TESTS = 256
MAX_PROGRAM_CHARS = 200_000
_REASON_CHARS = 160


@dataclass(frozen=True)
class Limits:
    """Per-sample sandbox limits; a request may lower or raise them within ``LIMIT_RANGES``."""

    test_timeout_s: float = 2.0  # wall clock per test (and for loading the program)
    sample_timeout_s: float = 10.0  # wall clock for all of a sample's tests, restarts included
    memory_mb: int = 256  # address space of the sandbox process
    max_output_bytes: int = 1_000_000  # a program test's stdout
    max_file_bytes: int = 16_000_000  # any file the program writes
    max_open_files: int = 64
    max_processes: int = 64  # RLIMIT_NPROC (non-root); the seccomp filter forbids new processes anyway
    float_tolerance: float = 1e-9  # relative and absolute, for float results

    def harness(self) -> dict[str, Any]:
        return {
            "memory_mb": self.memory_mb,
            "cpu_s": self.sample_timeout_s + 1,
            "max_file_bytes": self.max_file_bytes,
            "max_open_files": self.max_open_files,
            "max_processes": self.max_processes,
        }


LIMIT_RANGES: Mapping[str, tuple[float, float]] = {
    "test_timeout_s": (0.05, 60.0),
    "sample_timeout_s": (0.1, 600.0),
    "memory_mb": (64, 8192),
    "max_output_bytes": (1, 64_000_000),
    "max_file_bytes": (1024, 1_000_000_000),
    "max_open_files": (16, 4096),
    "max_processes": (1, 4096),
    "float_tolerance": (0.0, 1.0),
}


class RequestError(ValueError):
    """A malformed job: our bug or the grader's, never the program's."""


def parse_limits(raw: Any) -> Limits:
    """``Limits`` from a request's ``limits`` object (unknown keys and out-of-range values rejected)."""
    if raw is None:
        return Limits()
    if not isinstance(raw, Mapping):
        raise RequestError("limits must be an object")
    known = {f.name: f for f in fields(Limits)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise RequestError(f"unknown limit {key!r}; known: {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RequestError(f"limit {key!r} must be a number, got {value!r}")
        low, high = LIMIT_RANGES[key]
        if not low <= value <= high:
            raise RequestError(f"limit {key!r} must be in [{low}, {high}], got {value}")
        values[key] = int(value) if known[key].type in (int, "int") else float(value)
    return replace(Limits(), **values)


@dataclass(frozen=True)
class Check:
    """How the runner decides one test from the harness's record (expected values live only here)."""

    kind: str  # "call", "expr", "stmt", "stdin"
    expected: Any = None
    op: str = ""
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    label: str = ""


@dataclass(frozen=True)
class PreparedJob:
    id: str
    format: str
    program: str
    entry_point: str | None
    setup: str
    inputs: tuple[dict[str, Any], ...]  # what the harness gets, per test
    checks: tuple[Check, ...]  # what the runner keeps, per test
    limits: Limits
    stop_on_failure: bool = False  # all-or-nothing credit: the first failed test ends the sample


def prepare(job: Any) -> PreparedJob:
    """Validate one job and split each test into its input (for the sandbox) and its check (kept here)."""
    if not isinstance(job, Mapping):
        raise RequestError("a job must be an object")
    job_id = job.get("id")
    if not isinstance(job_id, str):
        raise RequestError("a job needs a string 'id'")
    language = job.get("language", "python")
    if language not in LANGUAGES:
        raise RequestError(f"language {language!r} is not supported (supported: {', '.join(LANGUAGES)})")
    fmt = job.get("format")
    if fmt not in FORMATS:
        raise RequestError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    program = job.get("program")
    if not isinstance(program, str) or len(program) > MAX_PROGRAM_CHARS:
        raise RequestError(f"'program' must be a string of at most {MAX_PROGRAM_CHARS} characters")
    entry_point = job.get("entry_point")
    if entry_point is not None and not (isinstance(entry_point, str) and entry_point.isidentifier()):
        raise RequestError(f"'entry_point' must be a Python identifier, got {entry_point!r}")
    limits = parse_limits(job.get("limits"))
    inputs: list[dict[str, Any]] = []
    checks: list[Check] = []
    setup = ""
    if fmt == "assert":
        test_code = job.get("test_code")
        if not isinstance(test_code, str):
            raise RequestError("an assert job needs 'test_code' (a string)")
        try:
            parsed = parse_asserts(test_code, entry_point=entry_point)
        except SyntaxError as exc:
            raise RequestError(f"test_code does not parse: line {exc.lineno}: {exc.msg}") from None
        setup = parsed.setup
        for test in parsed.tests:
            inputs.append(_assert_input(test))
            checks.append(_assert_check(test))
    else:
        tests = job.get("tests")
        if not isinstance(tests, list):
            raise RequestError("'tests' must be a list")
        for n, test in enumerate(tests):
            if not isinstance(test, Mapping):
                raise RequestError(f"tests[{n}] must be an object")
            if fmt == "function":
                if not entry_point:
                    raise RequestError("a function job needs 'entry_point'")
                args, kwargs = test.get("args", []), test.get("kwargs", {})
                if not isinstance(args, list) or not isinstance(kwargs, Mapping) or "expected" not in test:
                    raise RequestError(f"tests[{n}] needs 'args' (list), 'kwargs' (object) and 'expected'")
                try:
                    expected = encode_expected(test["expected"])
                except ValueError as exc:
                    raise RequestError(f"tests[{n}].expected: {exc}") from None
                inputs.append({"kind": "call", "args": args, "kwargs": dict(kwargs)})
                checks.append(Check("call", expected, label=f"test {n + 1}"))
            else:
                stdin, stdout = test.get("stdin", ""), test.get("stdout")
                if not isinstance(stdin, str) or not isinstance(stdout, str):
                    raise RequestError(f"tests[{n}] needs 'stdin' and 'stdout' strings")
                inputs.append({"kind": "stdin", "stdin": stdin})
                checks.append(Check("stdin", normalize_output(stdout), label=f"test {n + 1}"))
    if not checks:
        raise RequestError("the job has no tests")
    if len(checks) > MAX_TESTS:
        raise RequestError(f"the job has {len(checks)} tests; at most {MAX_TESTS}")
    stop = job.get("stop_on_failure", False)
    if not isinstance(stop, bool):
        raise RequestError("'stop_on_failure' must be true or false")
    return PreparedJob(job_id, fmt, program, entry_point, setup, tuple(inputs), tuple(checks), limits, stop)


def _assert_input(test: AssertTest) -> dict[str, Any]:
    if test.kind == "expr":
        return {"kind": "expr", "expr": test.source}
    return {"kind": "stmt", "code": test.source}


def _assert_check(test: AssertTest) -> Check:
    label = f"line {test.line}"
    if test.kind == "stmt":
        return Check("stmt", label=label)
    expected = test.expected
    if test.op not in ("truthy", "falsy", "isclose"):
        expected = encode_expected(expected)
    return Check("expr", expected, test.op, test.rel_tol, test.abs_tol, label)


# --- deciding tests ------------------------------------------------------------------------------


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def decide(check: Check, record: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """A test's verdict from the harness's record; whatever the record holds (the program may have forged
    it), deciding never raises: a value the runner cannot compare is a wrong one."""
    try:
        return _decide(check, record, limits)
    except BaseException as exc:
        return _test("wrong", f"the reported value cannot be compared: {type(exc).__name__}"[:_REASON_CHARS])


def _decide(check: Check, record: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    if not record.get("ok"):
        return _test("raised", str(record.get("error", "failed"))[:_REASON_CHARS])
    if check.kind == "stmt":
        return _test("passed", "assert did not raise (checked inside the sandbox)")
    if check.kind == "stdin":
        exit_code = record.get("exit")
        if exit_code != 0:
            return _test("raised", f"exit status {exit_code}")
        got = normalize_output(str(record.get("stdout", "")))
        if got == check.expected:
            return _test("passed")
        return _test("wrong", f"output {_short(got)}, expected {_short(check.expected)}")
    value = record.get("value")
    if check.kind == "call":
        if values_equal(value, check.expected, tolerance=limits.float_tolerance):
            return _test("passed")
        return _test("wrong", f"returned {_short(value)}, expected {_short(check.expected)}")
    ok = compare(
        value,
        check.op,
        check.expected,
        tolerance=limits.float_tolerance,
        rel_tol=check.rel_tol,
        abs_tol=check.abs_tol,
    )
    if ok:
        return _test("passed")
    return _test("wrong", f"value {_short(value)} fails {check.op} {_short(check.expected)}")


def _test(status: str, reason: str = "") -> dict[str, Any]:
    return {"passed": status == "passed", "status": status, "reason": reason}


_STOP_REASONS = {
    "test_timeout": ("timeout", "over the {t:g} s time limit per test"),
    "load_timeout": ("timeout", "loading the program took over the {t:g} s time limit"),
    "sample_timeout": ("timeout", "over the {s:g} s time limit per sample"),
    "died": ("died", "the process ended during the test"),
    "flood": ("died", "the program flooded the results channel"),
    "forged": ("wrong", "a malformed record on the results channel (forged by the program)"),
    "disk": ("died", "the program went over the sandbox's disk limits"),
}


def run_job(job: PreparedJob, *, deadline: float | None = None) -> dict[str, Any]:
    """Run one prepared job to completion (restarting after a test that kills or stalls the harness)."""
    limits = job.limits
    budget = limits.sample_timeout_s
    outcomes: dict[int, dict[str, Any]] = {}
    total = len(job.checks)
    start = 0
    notes: list[str] = []

    def enough(index: int, record: dict[str, Any]) -> bool:
        """Decide each test as it arrives; under stop_on_failure a failure ends the sample."""
        if 0 <= index < total and index not in outcomes:
            outcomes[index] = decide(job.checks[index], record, limits)
        return job.stop_on_failure and not outcomes.get(index, {"passed": False})["passed"]

    def cut_off() -> dict[str, Any]:
        """The batch deadline stopped the sample: a sample that had used half its time is the slow one
        (``timeout``, the program's); otherwise it is left over by its position (``deadline``, ours)."""
        used = limits.sample_timeout_s - budget
        if used >= limits.sample_timeout_s / 2:
            return _result(job.id, "timeout", f"the batch deadline came after {used:.1f} s of this sample")
        return _error(job.id, "deadline: the batch deadline came before this sample finished")

    while start < total:
        if deadline is not None and time.monotonic() >= deadline:
            return cut_off()
        payload = {
            "format": job.format,
            "program": job.program,
            "entry_point": job.entry_point,
            "setup": job.setup,
            "tests": list(job.inputs),
            "start": start,
            "limits": limits.harness(),
            "max_output_bytes": limits.max_output_bytes,
            "max_record_bytes": limits.max_output_bytes * 4 + 4096,
        }
        attempt = run_attempt(
            payload,
            test_timeout_s=limits.test_timeout_s,
            budget_s=max(0.0, budget),
            deadline=deadline,
            max_channel_bytes=(limits.max_output_bytes * 4 + 4096) * (total - start) + 65536,
            enough=enough,
        )
        budget -= attempt.seconds
        if attempt.cleanup_failed:  # the program's files outlived the time to remove them: its failure
            return _result(job.id, "failed", attempt.cleanup_failed)
        if attempt.infra:
            return _error(job.id, attempt.infra)
        notes.extend(attempt.notes)
        for index in attempt.conflicts:
            if start <= index < total:
                outcomes[index] = _test("wrong", "the test was reported twice or out of turn (forged output)")
        if attempt.finished:
            break
        if attempt.stop == "deadline":
            return cut_off()
        if attempt.stop == "enough":
            for index in range(start, total):
                outcomes.setdefault(index, _test("not_run", "skipped after a failed test (all-or-nothing)"))
            break
        if attempt.load_error or not attempt.loaded:
            reason = attempt.load_error or _stop_text(attempt.stop, limits)[1]
            for index in range(start, total):
                outcomes.setdefault(
                    index, _test("not_run", f"the program did not load: {reason}"[:_REASON_CHARS])
                )
            break
        status, reason = _stop_text(attempt.stop, limits)
        if attempt.current is not None and attempt.current not in outcomes:
            outcomes[attempt.current] = _test(status, reason)
        if attempt.stop == "sample_timeout" or budget <= 0:
            for index in range(start, total):
                outcomes.setdefault(index, _test("not_run", "the sample's time budget was spent"))
            break
        if job.stop_on_failure:
            for index in range(start, total):
                outcomes.setdefault(index, _test("not_run", "skipped after a failed test (all-or-nothing)"))
            break
        done = [i for i in outcomes if i >= start]
        start = max(done) + 1 if done else start + 1
    tests = [outcomes.get(i) or _test("not_run", "not reported") for i in range(total)]
    passed = sum(1 for t in tests if t["passed"])
    return {
        "id": job.id,
        "status": "ok",
        "passed": passed,
        "total": total,
        "tests": tests,
        "reason": _summary(passed, tests, notes),
    }


def _stop_text(stop: str, limits: Limits) -> tuple[str, str]:
    status, text = _STOP_REASONS.get(stop, ("died", "the process ended during the test"))
    return status, text.format(t=limits.test_timeout_s, s=limits.sample_timeout_s)


def _summary(passed: int, tests: list[dict[str, Any]], notes: list[str]) -> str:
    text = f"{passed}/{len(tests)} tests passed"
    for n, test in enumerate(tests):
        if not test["passed"]:
            text += f"; first failure: test {n + 1} {test['status']}" + (
                f": {test['reason']}" if test["reason"] else ""
            )
            break
    if notes:
        text += f" (sandbox: {'; '.join(sorted(set(notes)))})"
    return text[:400]


def _error(job_id: Any, reason: str) -> dict[str, Any]:
    return _result(job_id, "error", reason)


def _result(job_id: Any, status: str, reason: str) -> dict[str, Any]:
    """A result without decided tests: ``error`` (ours), ``failed`` or ``timeout`` (the program's)."""
    return {"id": job_id, "status": status, "passed": 0, "total": 0, "tests": [], "reason": reason[:400]}


# --- the batch -----------------------------------------------------------------------------------


def default_parallelism() -> int:
    """Samples run at once: ``CODE_RUNNER_PARALLELISM`` or the number of CPUs this process may use."""
    raw = os.environ.get("CODE_RUNNER_PARALLELISM", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_hardened = threading.Lock()
_hardened_done = False


def _harden_grading_process() -> None:
    """Make this process's /proc files (its environment: credentials) unreadable to the sandbox.

    Landlock already hides /proc where the kernel has it; where it does not (Lambda's kernel may not), a
    non-dumpable process's ``/proc/<pid>/environ`` cannot be read without CAP_SYS_PTRACE, which the
    sandbox never has (an ordinary user, or root with every capability dropped).
    """
    global _hardened_done
    with _hardened:
        if _hardened_done:
            return
        _hardened_done = True
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
        except (OSError, AttributeError):  # not Linux: nothing to do
            pass


def run_batch(
    request: Mapping[str, Any], *, deadline: float | None = None, parallelism: int | None = None
) -> dict[str, Any]:
    """Run every job of ``request``; one result per job, in order. Never raises for a bad job.

    ``deadline`` is a ``time.monotonic()`` instant: jobs not finished by then get status ``error`` with a
    reason starting ``deadline:``.
    """
    if (
        not isinstance(request, Mapping)
        or request.get("version") != VERSION
        or not isinstance(request.get("jobs"), list)
    ):
        jobs_raw = request.get("jobs") if isinstance(request, Mapping) else None
        reason = f"request must be {{'version': {VERSION}, 'jobs': [...]}}"
        results = (
            [_error(j.get("id") if isinstance(j, Mapping) else None, reason) for j in jobs_raw or []]
            if isinstance(jobs_raw, list)
            else []
        )
        return {"version": VERSION, "results": results}
    jobs_raw = request["jobs"][:MAX_JOBS]
    _harden_grading_process()
    prepared: list[PreparedJob | dict[str, Any]] = []
    for raw in jobs_raw:
        try:
            prepared.append(prepare(raw))
        except RequestError as exc:
            prepared.append(_error(raw.get("id") if isinstance(raw, Mapping) else None, f"bad job: {exc}"))
    workers = max(1, min(parallelism or default_parallelism(), len(prepared) or 1))

    def one(item: PreparedJob | dict[str, Any]) -> dict[str, Any]:
        if isinstance(item, dict):
            return item
        if deadline is not None and time.monotonic() >= deadline:
            return _error(item.id, "deadline: the batch deadline came before this sample started")
        try:
            return run_job(item, deadline=deadline)
        except Exception as exc:  # never a crash of the batch; what broke the runner here is the program
            return _result(
                item.id, "failed", f"the runner failed on this program: {type(exc).__name__}: {exc}"
            )

    if workers == 1:
        results = [one(item) for item in prepared]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="code-runner") as pool:
            results = list(pool.map(one, prepared))
    results += [
        _error(j.get("id") if isinstance(j, Mapping) else None, f"over {MAX_JOBS} jobs in one request")
        for j in request["jobs"][MAX_JOBS:]
    ]
    return {"version": VERSION, "results": results}
