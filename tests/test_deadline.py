"""The batch deadline: samples not graded in time get ``deadline`` and the reply still goes out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reward import workers
from reward.event import Message, Sample
from reward.grading import grade_event
from reward.results import Status
from reward.runner import grade_batch
from reward.spec import load_spec, parse_spec
from reward.workers import WorkerPool

ISSUE_65 = "\\boxed{\\dfrac{5^{(5^{(5^{5^5})} - 4)} - 5}{16}}"


def samples(*responses: str):
    return [
        Sample(str(i), i, (Message("user", "q"),), r, {"final_answer": "1/2"})
        for i, r in enumerate(responses)
    ]


@pytest.fixture(scope="module")
def pool():
    workers_ = WorkerPool(size=2, start_method="fork")
    yield workers_
    workers_.close()


def test_samples_still_running_at_the_deadline_get_deadline_and_the_call_returns_in_time(pool):
    spec = parse_spec({"sample_timeout_s": 60, "dimensions": [{"name": "m", "grader": "math"}]})
    grade_batch(spec, samples("\\boxed{1}"), pool=pool)  # start and warm the workers
    stuck = set(pool.pids())
    grades = grade_batch(
        spec,
        samples(ISSUE_65, ISSUE_65, ISSUE_65, "\\boxed{0.5}"),
        pool=pool,
        deadline=time.monotonic() + 1.0,
    )
    # Each sample may run 60 s (sample_timeout_s): `deadline`, not `timeout`, proves the batch stopped at its
    # 1 s deadline instead of waiting for the stuck workers. (No clock reading: the statuses are the proof.)
    assert [g[0].status for g in grades] == [Status.DEADLINE] * 4  # both workers stuck; the rest waited
    assert stuck.isdisjoint(pool.pids())  # the stuck workers were killed
    again = grade_batch(spec, samples("\\boxed{0.5}"), pool=pool)  # and replaced on the next call
    assert (again[0][0].status, again[0][0].score) == (Status.OK, 1.0)


def test_a_deadline_already_past_grades_nothing(pool):
    spec = parse_spec({"dimensions": [{"name": "m", "grader": "math"}, {"name": "f", "grader": "format"}]})
    grades = grade_batch(spec, samples("\\boxed{0.5}", "#### 1"), pool=pool, deadline=time.monotonic() - 1)
    assert {g.status for row in grades for g in row} == {Status.DEADLINE}


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.until = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.until - time.monotonic()) * 1000)


def test_the_handler_answers_every_id_before_the_lambda_times_out(tmp_path: Path, monkeypatch):
    spec_file = tmp_path / "m.toml"
    spec_file.write_text(
        'sample_timeout_s = 60\ndeadline_margin_s = 1\n[[dimensions]]\nname = "m"\ngrader = "math"\n'
    )
    monkeypatch.setattr(workers, "_POOL", WorkerPool(size=2, start_method="fork"))
    event = [
        {
            "id": f"s{i}",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": r}],
            "reference_answer": {"final_answer": "1/2"},
        }
        for i, r in enumerate([ISSUE_65, "\\boxed{0.5}", ISSUE_65, ISSUE_65])
    ]
    try:
        # 5 s left, 1 s margin: the stuck samples (60 s each) are cut at 4 s; the easy one has those 4 s
        # even on a busy machine.
        reply = grade_event(load_spec(spec_file), event, context=Context(remaining_ms=5000))
    finally:
        workers.reset_pool()
    # `deadline` statuses (not `timeout`, which would need 60 s) prove the reply went out at the deadline.
    assert [r["id"] for r in reply] == ["s0", "s1", "s2", "s3"]
    statuses = {m["name"] for r in reply for m in r["metrics_list"]}
    assert "m.status.deadline" in statuses
    assert reply[1]["aggregate_reward_score"] == 1.0  # the easy sample was graded in time
