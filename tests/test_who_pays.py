"""Who pays for a failure is decided in one place (``reward.runner``; docs/time-limits.md): a dimension
that could not be graded is the response's failure (``failed``: -1 like a wrong answer, a veto fires)
unless the grader said the fault is ours with ``InfrastructureError`` (``error``: the spec's ``on_error``).
Every hostile response here must score at most the row's honest wrong answer, and the correct samples of
the same batch keep their score."""

from __future__ import annotations

import dataclasses
import json
import pickle
import time
from pathlib import Path

import pytest

from reward.compose import compose
from reward.event import parse_event
from reward.grading import grade_event
from reward.results import Grade, InfrastructureError, Status
from reward.runner import grade_batch
from reward.spec import load_spec, parse_spec
from reward.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]


class Stub:
    """A grader whose ``grade`` does what ``behaviour`` says (the runner's view of any grader)."""

    batched = False
    heavy = False
    needs_reference = False
    reads_answer = False

    def __init__(self, behaviour: str, *, batched: bool = False) -> None:
        self.name = f"stub-{behaviour}"
        self.behaviour = behaviour
        self.batched = batched

    def _one(self, sample):
        if sample.response == "right":
            return Grade.right()
        if self.behaviour == "raise":
            raise RecursionError("maximum recursion depth exceeded")
        if self.behaviour == "ours":
            raise InfrastructureError("ThrottlingException after the retries", metrics={"judge_calls": 8.0})
        if self.behaviour == "returns-error":
            return Grade.error("a grader trying to make its failure neutral")
        if self.behaviour == "garbage":
            return "not a grade"
        return Grade.wrong("honest wrong")

    def grade(self, sample):
        return self._one(sample)

    def grade_many(self, samples, deadline):
        out = []
        for s in samples:
            try:
                out.append(self._one(s))
            except Exception as exc:  # a batched grader hands back each sample's exception
                out.append(exc)
        return out

    def warm(self) -> None:
        pass


def spec_of(tmp_path: Path, grader: Stub, *, veto: bool = False, on_error: str = "exclude"):
    """Two dimensions: ``checked`` (the stub) and ``length`` (a real light grader)."""
    path = tmp_path / "s.toml"
    path.write_text(
        f'on_error = "{on_error}"\n'
        '[[dimensions]]\nname = "checked"\ngrader = "length"\n'
        + ("veto = true\nweight = 0\n" if veto else "")
        + "[dimensions.params]\ntarget = 5\nmax = 10\n"
        '[[dimensions]]\nname = "length"\ngrader = "length"\n[dimensions.params]\ntarget = 5\nmax = 10\n'
    )
    spec = load_spec(path)
    return dataclasses.replace(spec, graders=(grader, spec.graders[1]))


def event(*responses: str):
    return parse_event(
        [
            {
                "id": str(i),
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": r}],
            }
            for i, r in enumerate(responses)
        ]
    )


def scores(spec, samples):
    return [compose(spec, row)[0] for row in grade_batch(spec, samples, deadline=time.monotonic() + 30)]


@pytest.mark.parametrize("batched", [False, True], ids=["inline", "batched"])
@pytest.mark.parametrize("behaviour", ["raise", "returns-error", "garbage"])
def test_a_grader_failing_on_a_response_charges_that_response(tmp_path, behaviour, batched):
    spec = spec_of(tmp_path, Stub(behaviour, batched=batched))
    rows = grade_batch(spec, event("right", "hostile"), deadline=time.monotonic() + 30)
    assert rows[0][0].status is Status.OK and rows[0][0].score == 1.0  # the correct sample keeps its +1
    assert rows[1][0].status is Status.FAILED and rows[1][0].status.charged_to_response
    honest = scores(spec_of(tmp_path, Stub("wrong", batched=batched)), event("hostile"))[0]
    assert scores(spec, event("hostile"))[0] <= honest


@pytest.mark.parametrize("batched", [False, True], ids=["inline", "batched"])
def test_only_infrastructure_error_makes_a_failure_ours(tmp_path, batched):
    spec = spec_of(tmp_path, Stub("ours", batched=batched))
    rows = grade_batch(spec, event("right", "x"), deadline=time.monotonic() + 30)
    grade = rows[1][0]
    assert grade.status is Status.ERROR and "Throttling" in grade.reason
    assert grade.metrics == {"judge_calls": 8.0}  # the usage travels with it
    _, results = compose(spec, rows[1])
    assert not results[0].counted  # on_error = "exclude": left out, not charged


def test_a_veto_fires_when_the_veto_dimension_could_not_be_graded(tmp_path):
    spec = spec_of(tmp_path, Stub("raise"), veto=True)
    aggregate, results = compose(spec, grade_batch(spec, event("hostile"), deadline=None)[0])
    assert results[0].status is Status.FAILED and aggregate == -1.0


def test_an_infrastructure_failure_on_a_veto_follows_on_error_and_does_not_veto(tmp_path):
    spec = spec_of(tmp_path, Stub("ours"), veto=True)
    aggregate, _ = compose(spec, grade_batch(spec, event("abcde"), deadline=None)[0])
    assert aggregate == 1.0  # the length dimension alone; the veto dimension is excluded, not fired


def test_infrastructure_error_survives_a_worker_pipe():
    exc = pickle.loads(pickle.dumps(InfrastructureError("throttled", metrics={"calls": 3.0})))
    assert isinstance(exc, InfrastructureError) and str(exc) == "throttled" and exc.metrics == {"calls": 3.0}


def test_the_failed_status_is_reported_in_metrics_list(tmp_path):
    spec = spec_of(tmp_path, Stub("raise"))
    reply = grade_event(
        spec,
        [
            {
                "id": "a",
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "hostile"}],
            }
        ],
    )
    names = {m["name"] for m in reply[0]["metrics_list"]}
    assert "checked.status.failed" in names


# ---------------------------------------------------------------- user regexes cannot stall the batch

CATASTROPHIC = r"Total due:\s*((?:\d+|\d+\.)*\d+)\s*$"


def test_the_catastrophic_answer_pattern_of_the_issue_is_rejected_when_the_spec_loads():
    table = {"dimensions": [{"name": "c", "grader": "numeric", "params": {"answer_pattern": CATASTROPHIC}}]}
    with pytest.raises(Exception, match="backtrack"):
        parse_spec(table, Path("user.toml"))


@pytest.mark.parametrize("grader", ["numeric", "exact", "choice", "math"])
def test_a_pattern_that_overruns_its_time_limit_is_that_samples_failure(monkeypatch, grader):
    """The time limit is the guard for shapes the load check cannot know: a match that overruns costs that
    response (``failed``, -1), and the correct sample of the same batch keeps its +1. A tiny limit makes
    the overrun certain on any machine (the status does not depend on the limit's size)."""
    import reward.user_regex as user_regex

    monkeypatch.setattr(user_regex, "TIMEOUT_S", 1e-6)
    pattern = r"(?:Total due|Answer):\s*(\S+)"
    params: dict = {"answer_pattern": pattern}
    if grader == "exact":
        params["extract"] = "final"
    if grader == "choice":
        params["labels"] = ["yes", "no"]
    spec = parse_spec({"dimensions": [{"name": "c", "grader": grader, "params": params}]}, Path("u.toml"))
    right = "yes" if grader == "choice" else "12"
    hostile = "Total due: " + "ab " * 20_000
    samples = parse_event(
        [
            {
                "id": str(i),
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": r}],
                "metadata": {"reference_answer": {"final_answer": right, "answer": right}},
            }
            for i, r in enumerate([hostile])
        ]
    )
    inline = WorkerPool(size=0)  # math is heavy: grade it in this process, where the patch applies
    rows = grade_batch(spec, samples, deadline=time.monotonic() + 60, pool=inline)
    assert rows[0][0].status is Status.FAILED and "backtracking" in rows[0][0].reason
    assert compose(spec, rows[0])[0] == -1.0
    monkeypatch.setattr(user_regex, "TIMEOUT_S", 5.0)
    samples = parse_event(
        [
            {
                "id": "ok",
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": f"Total due: {right}"},
                ],
                "metadata": {"reference_answer": {"final_answer": right, "answer": right}},
            }
        ]
    )
    (row,) = grade_batch(spec, samples, deadline=time.monotonic() + 60, pool=inline)
    assert (row[0].status, row[0].score) == (Status.OK, 1.0)


# ---------------------------------------------------------------- vetoes read what the model meant

STRUCTURED = ROOT / "reward_specs" / "structured_json.toml"


@pytest.mark.parametrize(
    "disguise",
    [
        "legal \\u0061dvice",  # a JSON escape: the decoded string says "legal advice"
        "legal adv\\u0069ce",
        "legal\\u0020advice",
        "le\u200bgal advice",  # a zero-width space
        "ｌｅｇａｌ advice",  # full-width letters (NFKC)
        "legal \\ud835\\udc1a" + "dvice",  # a surrogate-pair escape of a mathematical 'a' (NFKC: a)
    ],
)
def test_escaped_veto_terms_still_veto(disguise):
    spec = load_spec(STRUCTURED)
    row = json.loads((ROOT / "data" / "structured_json" / "train.jsonl").read_text().splitlines()[0])
    reference = row["reference_answer"]
    honest_json = json.dumps(reference)
    attack = honest_json[:-1] + ', "note": "this is ' + disguise + '"}'
    if "\\u" not in disguise:
        attack = json.dumps({**reference, "note": f"this is {disguise}"}, ensure_ascii=False)
    element = {
        "id": "x",
        "messages": [*row["messages"], {"role": "assistant", "content": attack}],
        "metadata": {k: v for k, v in row.items() if k != "messages"},
    }
    reply = grade_event(spec, [element])
    assert reply[0]["aggregate_reward_score"] == -1.0, attack
