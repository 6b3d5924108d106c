"""The ``code`` grader: extraction, credit, statuses, culprit isolation, and the shipped code spec end to end
through the reward handler (local runner), with the positive control on top and every attack at the floor."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from reward.code_hacks import programs
from reward.code_tasks import read_task
from reward.controls import negative_controls, positive_control, render
from reward.event import Sample
from reward.graders.base import ParamError
from reward.graders.code import CodeGrader, CodeParams, extract_program, run_isolating
from reward.grading import grade_event
from reward.results import Status
from reward.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "reward_specs" / "code.toml"
TRAIN = ROOT / "data" / "code" / "train.jsonl"
ADD = {
    "entry_point": "add",
    "tests": [{"args": [1, 2], "kwargs": {}, "expected": 3}, {"args": [2, 2], "kwargs": {}, "expected": 4}],
    "solution": "def add(a, b):\n    return a + b\n",
}


def sample(response: str, reference: Any = ADD, index: int = 0) -> Sample:
    return Sample(id=f"s{index}", index=index, response=response, reference=reference)


def fenced(code: str, tag: str = "python") -> str:
    return f"Here you go.\n\n```{tag}\n{code}```\n"


# --- extraction ----------------------------------------------------------------------------------


def test_the_last_python_block_is_the_program():
    text = fenced("print(1)\n") + "Or better:\n" + fenced("print(2)\n") + fenced("not code\n", "text")
    assert extract_program(text) == "print(2)\n"
    assert extract_program(text, block="first") == "print(1)\n"


def test_unclosed_untagged_and_missing_blocks():
    assert extract_program("```python\nprint(1)\n") is None  # truncated: no closing fence
    assert extract_program("```\nprint(1)\n```\n") is None
    assert extract_program("```\nprint(1)\n```\n", untagged=True) == "print(1)\n"
    assert extract_program("def add(a, b): return a + b") is None
    assert extract_program("```Py\nx = 1\n```") == "x = 1\n"  # tags are case-insensitive


def test_no_block_is_unscorable_and_no_task_is_no_reference():
    grader = CodeGrader(CodeParams(), runner=lambda request, deadline: pytest.fail("runner called"))
    no_code, no_task = grader.grade_many(
        [sample("def add(a, b): return a + b"), sample(fenced("x=1\n"), {"a": 1})], None
    )
    assert no_code.status is Status.UNSCORABLE and no_code.score == 0
    assert no_task.status is Status.NO_REFERENCE


@pytest.mark.parametrize(
    ("key", "value"),
    [("block", "middle"), ("test_timeout_s", 0), ("memory_mb", 10), ("sample_timeout_s", 0.5)],
)
def test_bad_params_are_rejected_at_load(key, value):
    with pytest.raises(ParamError):
        CodeGrader.from_params({key: value, **({"test_timeout_s": 1.0} if key == "sample_timeout_s" else {})})


# --- credit, with the real local runner -------------------------------------------------------------


def test_fraction_and_all_or_nothing_credit():
    half = fenced("def add(a, b):\n    return 3\n")
    fraction = CodeGrader(CodeParams()).grade(sample(half))
    strict = CodeGrader(CodeParams(all_or_nothing=True)).grade(sample(half))
    assert (fraction.status, fraction.score) == (Status.OK, 0.5)
    assert fraction.metrics == {"tests_passed": 1.0, "tests_total": 2.0}
    assert (strict.status, strict.score) == (Status.OK, 0.0)
    right = CodeGrader(CodeParams(all_or_nothing=True)).grade(sample(fenced(ADD["solution"])))
    assert right.score == 1.0 and "2/2" in right.reason


def test_the_whole_batch_goes_to_the_runner_in_one_request():
    requests = []

    def runner(request, deadline):
        requests.append(request)
        return {
            "version": 1,
            "results": [
                {"id": j["id"], "status": "ok", "passed": 2, "total": 2, "tests": [], "reason": "2/2"}
                for j in request["jobs"]
            ],
        }

    grades = CodeGrader(CodeParams(), runner=runner).grade_many(
        [sample(fenced("x=1\n"), index=i) for i in range(5)], None
    )
    assert len(requests) == 1 and len(requests[0]["jobs"]) == 5
    assert all(g.score == 1.0 for g in grades)
    assert requests[0]["jobs"][0]["limits"]["test_timeout_s"] == 2.0


# --- culprit isolation -----------------------------------------------------------------------------


def crashing_runner(calls: list[list[str]], culprit: str = "s3"):
    """A runner that fails a whole call (like a crashed Lambda invocation) when ``culprit`` is in it."""

    def run(request, deadline):
        ids = [j["id"] for j in request["jobs"]]
        calls.append(ids)
        if culprit in ids:
            raise RuntimeError("Lambda invocation failed: Runtime.ExitError")
        return {
            "version": 1,
            "results": [
                {"id": i, "status": "ok", "passed": 1, "total": 1, "tests": [], "reason": "1/1"} for i in ids
            ],
        }

    return run


def test_the_sample_that_breaks_its_batch_is_found_and_only_it_fails():
    calls: list[list[str]] = []
    jobs = [{"id": f"s{i}"} for i in range(8)]
    results = run_isolating(jobs, crashing_runner(calls), None)
    assert results["s3"]["status"] == "culprit"
    assert all(results[f"s{i}"]["status"] == "ok" for i in range(8) if i != 3)
    assert len(calls) <= 1 + 2 * 3 + 1  # halves, not one call per sample


def test_an_invocation_marked_call_failed_is_bisected_too():
    """The deployed client reports a crashed invocation as results with call_failed (it does not raise)."""

    def run(request, deadline):
        ids = [j["id"] for j in request["jobs"]]
        crashed = "s1" in ids
        return {
            "version": 1,
            "results": [
                {
                    "id": i,
                    "status": "error" if crashed else "ok",
                    "passed": 0 if crashed else 1,
                    "total": 0 if crashed else 1,
                    "tests": [],
                    "reason": "invocation crashed" if crashed else "",
                    "call_failed": crashed,
                }
                for i in ids
            ],
        }

    results = run_isolating([{"id": f"s{i}"} for i in range(4)], run, None)
    assert [results[f"s{i}"]["status"] for i in range(4)] == ["ok", "culprit", "ok", "ok"]


def test_when_everything_fails_it_is_our_error_not_the_samples():
    def down(request, deadline):
        raise ConnectionError("runner unreachable")

    results = run_isolating([{"id": f"s{i}"} for i in range(4)], down, None)
    assert {r["status"] for r in results.values()} == {"error"}


def test_grades_for_culprit_error_failed_timeout_and_deadline():
    """Who pays, per runner status: a culprit, a program that broke the runner (failed) or was cut off
    after half its time (timeout) are the response's; the runner's own error is ours (InfrastructureError,
    settled to ``error``); a sample never reached before the deadline is ``deadline``."""
    from reward.sample_grading import settle

    replies = {
        "s0": {"status": "culprit", "reason": "x"},
        "s1": {"status": "error", "reason": "boom"},
        "s2": {"status": "error", "reason": "deadline: late"},
        "s3": {"status": "failed", "reason": "the runner failed on this program"},
        "s4": {"status": "timeout", "reason": "the batch deadline came after 6.0 s"},
    }

    def runner(request, deadline):
        return {
            "version": 1,
            "results": [
                {"id": j["id"], "passed": 0, "total": 0, "tests": [], **replies[j["id"]]}
                for j in request["jobs"]
            ],
        }

    handed = CodeGrader(CodeParams(), runner=runner).grade_many(
        [sample(fenced("x=1\n"), index=i) for i in range(5)], None
    )
    grades = [settle(g, "code") for g in handed]
    assert [g.status for g in grades] == [
        Status.OK,
        Status.ERROR,
        Status.DEADLINE,
        Status.FAILED,
        Status.TIMEOUT,
    ]
    assert grades[0].score == 0.0  # the culprit's failure is the response's


def test_the_deployed_runner_is_used_when_its_function_is_named(monkeypatch):
    """With CODE_RUNNER_FUNCTION set the grader never runs code in this process."""
    import sys
    import types

    calls = []
    fake = types.ModuleType("reward.code_remote")

    def invoke_runner(request, *, function, deadline=None):
        calls.append(function)
        return {
            "version": 1,
            "results": [
                {"id": j["id"], "status": "ok", "passed": 2, "total": 2, "tests": [], "reason": ""}
                for j in request["jobs"]
            ],
        }

    fake.invoke_runner = invoke_runner
    monkeypatch.setitem(sys.modules, "reward.code_remote", fake)
    monkeypatch.setenv("CODE_RUNNER_FUNCTION", "arn:aws:lambda:us-east-1:123456789012:function:runner:3")
    grade = CodeGrader(CodeParams()).grade(sample(fenced("import os\nos._exit(1)\n")))
    assert calls == ["arn:aws:lambda:us-east-1:123456789012:function:runner:3"] and grade.score == 1.0


# --- the shipped spec, end to end ------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_rows():
    """Six rows of data/code (two per format): control, negative controls and every hostile program."""
    spec = load_spec(SPEC)
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    picked = []
    for fmt in ("function", "program", "assert"):
        picked += [r for r in rows if r["format"] == fmt][:2]
    event, names = [], []
    for i, row in enumerate(picked):
        reference = row["reference_answer"]
        task, _ = read_task(reference)
        answers = {"control": positive_control(spec.control_template, reference)}
        answers |= negative_controls(spec.control_template, reference)
        for (family, variant), program in programs(task, row["messages"][-1]["content"]).items():
            answers[f"{family}:{variant}"] = render(spec.control_template, {**reference, "solution": program})
        metadata = {k: v for k, v in row.items() if k != "messages"}
        for name, text in answers.items():
            event.append(
                {
                    "id": f"{i}|{name}",
                    "messages": [*row["messages"], {"role": "assistant", "content": text}],
                    "metadata": metadata,
                }
            )
            names.append(name)

    reply = grade_event(load_spec(SPEC), event)
    return {e["id"]: e for e in reply}


def test_the_positive_control_scores_the_top(graded_rows):
    controls = {k: v["aggregate_reward_score"] for k, v in graded_rows.items() if k.endswith("|control")}
    assert len(controls) == 6 and set(controls.values()) == {1.0}, controls


def test_every_attack_and_negative_control_scores_the_floor(graded_rows):
    above = {
        k: v["aggregate_reward_score"]
        for k, v in graded_rows.items()
        if not k.endswith("|control") and v["aggregate_reward_score"] != -1.0
    }
    assert not above, above


def test_no_attack_is_excused_as_an_error(graded_rows):
    statuses = [m["name"] for v in graded_rows.values() for m in v["metrics_list"] if ".status." in m["name"]]
    assert not [s for s in statuses if s.endswith((".error", ".timeout", ".deadline"))], statuses


class _Context:
    """A Lambda context with a fixed remaining time (the handler derives its batch deadline from it)."""

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_a_batch_of_loops_answers_before_the_lambda_deadline_and_leaves_no_process(tmp_path, monkeypatch):
    """Eight samples that loop forever cannot all run before a 6 s Lambda deadline (3 s batch budget): the
    reply still arrives with every id, the ones not run are `deadline` (not a score), none is above the
    floor, and no sandbox process is left when the handler returns."""
    from tests.test_code_runner import sandbox_processes

    row = json.loads(TRAIN.read_text(encoding="utf-8").splitlines()[0])
    spec = load_spec(SPEC)
    loop = render(spec.control_template, {**row["reference_answer"], "solution": "while True:\n    pass\n"})
    metadata = {k: v for k, v in row.items() if k != "messages"}
    event = [
        {
            "id": f"loop{i}",
            "messages": [*row["messages"], {"role": "assistant", "content": loop}],
            "metadata": metadata,
        }
        for i in range(8)
    ]
    # The sandboxes live under a temp root of this test's own (their HOME): the sandboxes of tests running
    # at the same time on another pytest-xdist worker are not counted.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(sandbox_processes(str(tmp_path)))
    reply = grade_event(load_spec(SPEC), event, context=_Context(6000))
    assert [e["id"] for e in reply] == [e["id"] for e in event]
    statuses = [
        m["name"] for e in reply for m in e["metrics_list"] if m["name"].startswith("correctness.status.")
    ]
    assert "correctness.status.deadline" in statuses
    assert all(e["aggregate_reward_score"] <= 0 for e in reply)
    assert not set(sandbox_processes(str(tmp_path))) - before
    assert list(tmp_path.iterdir()) == []  # and no sample's directory
