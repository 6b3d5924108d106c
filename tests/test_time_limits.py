"""Hard time limits under hostile input: references that used to stall the handler, the
default deadline without a Lambda context, and how timeout / deadline are scored."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reward import grading, handler, workers
from reward.compose import compose
from reward.event import Message, Sample
from reward.grading import DEFAULT_DEADLINE_S, batch_deadline, grade_event
from reward.results import Grade, Status
from reward.runner import grade_batch
from reward.spec import load_spec, parse_spec
from reward.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT / "reward_specs/gsm8k.toml"
MATH = ROOT / "reward_specs/math.toml"


class CountdownContext:
    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.until - time.monotonic()) * 1000)


def element(i: int, response: str, reference: object) -> dict:
    return {
        "id": f"s{i}",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}],
        "metadata": {"reference_answer": reference},
    }


def statuses(reply: list[dict]) -> set[str]:
    return {m["name"].rsplit(".", 1)[-1] for e in reply for m in e["metrics_list"] if ".status." in m["name"]}


def test_a_70kb_unclosed_boxed_reference_is_graded_before_the_deadline():
    """Before the fix this batch took 21-25 s with 20 s left: the second sample came back ``deadline``."""
    bomb = "\\boxed{" * 10_000 + "\n#### 18"  # 70 KB, accepted by the validator before this check
    event = [element(0, "#### 18", bomb), element(1, "\\boxed{" * 2_000 + "\n#### 17", bomb)]
    reply = grade_event(load_spec(GSM8K), event, context=CountdownContext(20))
    assert "deadline" not in statuses(reply)
    assert [e["aggregate_reward_score"] for e in reply] == [1.0, -1.0]


def test_without_a_context_the_batch_still_has_a_deadline(monkeypatch):
    spec = load_spec(GSM8K)
    assert batch_deadline(spec, None, 100.0) == 100.0 + DEFAULT_DEADLINE_S - spec.deadline_margin_s
    monkeypatch.setenv("REWARD_DEFAULT_DEADLINE_S", "4")
    assert batch_deadline(spec, None, 100.0) == 100.0 + 4 - 2  # the margin is at most half the time

    class Broken:
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no")

    assert batch_deadline(spec, Broken(), 100.0) == 100.0 + 4 - 2
    monkeypatch.setenv("REWARD_DEFAULT_DEADLINE_S", "soon")
    assert batch_deadline(spec, None, 0.0) == DEFAULT_DEADLINE_S - spec.deadline_margin_s


def test_a_local_run_without_context_cannot_hang(tmp_path, monkeypatch):
    """Bombs with a 60 s budget, no context, a 1 s default deadline: the reply comes, every sample
    answered (not graded in time: ``deadline``; the bombs, slow themselves, never above wrong)."""
    spec_file = tmp_path / "slow.toml"
    spec_file.write_text('sample_timeout_s = 60\n[[dimensions]]\nname = "m"\ngrader = "math"\n')
    monkeypatch.setenv("REWARD_DEFAULT_DEADLINE_S", "1")
    pool = WorkerPool(size=2, start_method="fork")
    monkeypatch.setattr(workers, "_POOL", pool)
    try:
        bombs = ["\\boxed{9^{9^{9^{9}}}}", "\\boxed{((10^{10})!)!}", "\\boxed{18}"]
        reply = grade_event(
            load_spec(spec_file), [element(i, r, {"final_answer": "18"}) for i, r in enumerate(bombs)]
        )
    finally:
        pool.close()
    assert [e["id"] for e in reply] == ["s0", "s1", "s2"]
    assert statuses(reply) <= {"deadline", "timeout"}
    assert all(e["aggregate_reward_score"] <= 0.0 for e in reply)


# --- how statuses are scored --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def math_spec():
    return load_spec(MATH)


def test_a_timeout_scores_like_a_wrong_answer_whatever_on_error_says(math_spec):
    assert math_spec.on_error == "exclude"
    timeout = compose(math_spec, [Grade.timeout(), Grade.right(), Grade.right()])
    wrong = compose(math_spec, [Grade.wrong(), Grade.right(), Grade.right()])
    assert timeout[0] == wrong[0] == -1.0
    assert [r.counted for r in timeout[1]] == [True, True, True]
    assert timeout[1][0].status is Status.TIMEOUT  # still reported as a timeout in metrics


def test_our_failures_still_follow_on_error(math_spec):
    for failure in (Grade.error("worker pool failed"), Grade.deadline(), Grade.no_reference()):
        aggregate, results = compose(math_spec, [failure, Grade.right(), Grade.right()])
        assert aggregate == 0.0 and not any(r.counted for r in results)


def test_a_sample_stuck_at_the_deadline_after_half_its_budget_is_charged_to_it():
    """The slow response is the one in flight at the deadline: ``timeout`` (charged), not ``deadline``."""
    spec = parse_spec({"sample_timeout_s": 2, "dimensions": [{"name": "m", "grader": "math"}]})
    pool = WorkerPool(size=1, start_method="fork")
    try:
        grade_batch(spec, [_sample("\\boxed{1}")], pool=pool)  # warm
        grades = grade_batch(
            spec,
            [_sample("\\boxed{9^{9^{9^{9}}}}"), _sample("\\boxed{18}")],
            pool=pool,
            deadline=time.monotonic() + 1.5,
        )
    finally:
        pool.close()
    assert grades[0][0].status is Status.TIMEOUT and "batch deadline" in grades[0][0].reason
    assert grades[1][0].status is Status.DEADLINE  # never started: not its fault


def _sample(response: str) -> Sample:
    return Sample("x", 0, (Message("user", "q"),), response, {"final_answer": "18"})


def test_handler_module_documents_the_default():
    assert "REWARD_DEFAULT_DEADLINE_S" in (handler.__doc__ or "") + json.dumps(
        grading.default_deadline_s.__doc__
    )
