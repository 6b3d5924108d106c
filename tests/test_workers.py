"""Worker processes for heavy graders: hard timeouts kill and replace, crashes are errors, reuse."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest

from reward.event import Message, Sample
from reward.graders import BUILTIN_GRADERS
from reward.graders.base import Grader
from reward.results import Grade, Status
from reward.runner import grade_batch
from reward.spec import parse_spec
from reward.workers import WorkerPool, spec_table

ISSUE_65 = "\\boxed{\\dfrac{5^{(5^{(5^{5^5})} - 4)} - 5}{16}}"  # Math-Verify issue #65: hangs in C code


@dataclass(frozen=True)
class ProbeParams:
    pass


class ProbeGrader(Grader):
    """Test-only heavy grader: the response says what to do ("sleep 30", "crash", "pid", anything)."""

    name = "probe"
    Params = ProbeParams
    heavy = True

    def grade(self, sample: Sample) -> Grade:
        command = sample.response or ""
        if command.startswith("sleep "):
            time.sleep(float(command.split()[1]))
        elif command == "crash":
            os._exit(3)
        return Grade.right(pid=float(os.getpid()))


@pytest.fixture(scope="module")
def pool():
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(BUILTIN_GRADERS, "probe", f"{__name__}:ProbeGrader")  # before the workers fork
        workers = WorkerPool(size=2, start_method="fork")
        yield workers
        workers.close()


def spec_with(grader: str, timeout: float = 5.0, **extra):  # generous: a busy machine stays green
    table = {
        "sample_timeout_s": timeout,
        "dimensions": [
            {"name": "heavy", "grader": grader, **extra},
            {"name": "light", "grader": "format", "params": {"final_line": ".*", "once": []}},
        ],
    }
    return parse_spec(table)


def samples(*responses: str, reference="\\frac{1}{2}"):
    return [
        Sample(str(i), i, (Message("user", "q"),), r, {"final_answer": reference})
        for i, r in enumerate(responses)
    ]


def test_an_overrunning_sample_times_out_and_its_worker_is_replaced(pool):
    # A 5 s budget: "sleep 30" overruns it, the fast samples fit even on a busy machine.
    spec = spec_with("probe", timeout=5.0)
    grade_batch(spec, samples("warm"), pool=pool)
    before = set(pool.pids())
    grades = grade_batch(spec, samples("sleep 30", "fast", "fast"), pool=pool)
    # `timeout` (not ok after 30 s) proves the overrunning sample was cut at its budget.
    assert [g[0].status for g in grades] == [Status.TIMEOUT, Status.OK, Status.OK]
    assert [g[1].status for g in grades] == [Status.OK] * 3  # light dimensions are unaffected
    after = set(pool.pids())
    assert len(after) == 2 and len(before - after) == 1  # exactly the stuck worker was replaced


def test_issue_65_input_costs_no_more_than_its_budget(pool):
    spec = spec_with("math", timeout=5.0)  # the easy sample fits even on a busy machine
    grades = grade_batch(spec, samples(ISSUE_65, "\\boxed{0.5}"), pool=pool)
    assert grades[0][0].status is Status.TIMEOUT  # cut at its budget (parsing it would never end)
    assert (grades[1][0].status, grades[1][0].score) == (Status.OK, 1.0)


def test_a_crashing_worker_costs_that_sample_only(pool):
    """A sample that kills a fresh worker again on its retry is charged to the response
    (a crash the input causes every time must not pay better than a wrong answer)."""
    grades = grade_batch(spec_with("probe"), samples("fast", "crash", "fast"), pool=pool)
    assert [g[0].status for g in grades] == [Status.OK, Status.UNSCORABLE, Status.OK]
    assert "exited with code 3" in grades[1][0].reason
    assert len(pool.pids()) == 2


def test_workers_are_reused_across_calls(pool):
    spec = spec_with("probe")
    grade_batch(spec, samples("fast"), pool=pool)
    pids = set(pool.pids())
    started = pool.started_total
    for _ in range(3):
        grades = grade_batch(spec, samples(*["fast"] * 6), pool=pool)
        assert {int(g[0].metrics["pid"]) for g in grades} <= pids
    assert set(pool.pids()) == pids and pool.started_total == started


def test_heavy_work_is_spread_over_all_workers(pool):
    grades = grade_batch(spec_with("probe"), samples(*["sleep 0.2"] * 4), pool=pool)
    assert len({g[0].metrics["pid"] for g in grades}) == 2


def test_oversized_and_malformed_samples_never_reach_a_worker(pool):
    spec = parse_spec({"max_response_chars": 10, "dimensions": [{"name": "heavy", "grader": "probe"}]})
    bad = Sample("x", 1, problem="no messages")
    grades = grade_batch(spec, [*samples("crash" + "x" * 20), bad], pool=pool)
    assert grades[0][0].status is Status.UNSCORABLE and "max_response_chars" in grades[0][0].reason
    assert grades[1][0].status is Status.FAILED  # charged: never better than a wrong answer
    assert len(pool.pids()) == 2


def test_a_light_only_spec_never_touches_the_pool():
    class Exploding:
        size = 2

        def grade(self, *args, **kwargs):
            raise AssertionError("the pool was used")

    spec = parse_spec({"dimensions": [{"name": "f", "grader": "format"}]})
    assert grade_batch(spec, samples("#### 1"), pool=Exploding())[0][0].status is Status.OK


def test_the_spec_table_rebuilds_the_same_spec():
    spec = spec_with("math", timeout=2.5, params={"precision": 3}, weight=2.0)
    rebuilt = parse_spec(spec_table(spec))
    assert rebuilt.dimensions == spec.dimensions
    assert rebuilt.sample_timeout_s == 2.5
