"""The worker protocol under hostile input: no grade ever leaks from one batch into another.

The integrity audit found that a sample whose ``metadata`` cannot be pickled (nested a few hundred levels deep)
abandoned the grading session while another worker was still busy; the next batch then took that
worker's late answer as its own (a wrong answer scored +1). These tests reproduce that sequence, in
process with a controllable grader and as the deployed function runs (own process,
``AWS_LAMBDA_FUNCTION_NAME`` set, a counting-down context), and pin the fix.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from reward.event import Message, Sample
from reward.graders import BUILTIN_GRADERS
from reward.graders.base import Grader
from reward.results import Grade, Status
from reward.runner import grade_batch
from reward.spec import parse_spec
from reward.workers import HeavyJob, WorkerPool, encode_job

ROOT = Path(__file__).resolve().parents[1]
DEPTH = 600  # deeper than pickle recurses (about 500 here), shallower than json.loads refuses (about 990)


def deep(depth: int = DEPTH) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def _explode() -> None:
    raise RuntimeError("this value cannot be unpickled")


class Unreadable(float):
    """Pickles fine in the worker, fails to unpickle in the parent."""

    def __reduce__(self):
        return (_explode, ())


@dataclass(frozen=True)
class ScriptParams:
    pass


class ScriptGrader(Grader):
    """Test-only heavy grader: "sleep S right", "right", "wrong", "unreadable", "unpicklable",
    "crash-once PATH" (dies the first time, grades right once PATH exists), "crash"."""

    name = "script"
    Params = ScriptParams
    heavy = True

    def grade(self, sample: Sample) -> Grade:
        words = (sample.response or "").split()
        if words[:1] == ["sleep"]:
            time.sleep(float(words[1]))
            words = words[2:]
        if words == ["wrong"]:
            return Grade.wrong(pid=float(os.getpid()))
        if words == ["unreadable"]:
            return Grade(1.0, Status.OK, "", {"x": Unreadable(1.0)})
        if words == ["unpicklable"]:
            return Grade(1.0, Status.OK, "", {"x": (lambda: 1)})  # type: ignore[dict-item]
        if words[:1] == ["crash-once"]:
            flag = Path(words[1])
            if not flag.exists():
                flag.write_text("crashed once")
                os._exit(9)
        if words == ["crash"]:
            os._exit(3)
        return Grade.right(pid=float(os.getpid()))


@pytest.fixture()
def pool():
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(BUILTIN_GRADERS, "script", f"{__name__}:ScriptGrader")  # before the workers fork
        workers = WorkerPool(size=2, start_method="fork")
        yield workers
        workers.close()


def spec(timeout: float = 10.0):
    return parse_spec({"sample_timeout_s": timeout, "dimensions": [{"name": "heavy", "grader": "script"}]})


def sample(i: int, response: str, metadata: dict | None = None) -> Sample:
    return Sample(str(i), i, (Message("user", "q"),), response, {"final_answer": "18"}, metadata or {})


def test_a_deep_sample_is_picklable_after_slimming_and_only_then():
    job = HeavyJob(0, sample(0, "right", {"reference_answer": "18", "deep": deep()}), (0,), 1.0)
    with pytest.raises(RecursionError):
        pickle.dumps(job.sample)
    payload, note = encode_job((1, 0), "k", job)
    assert "without its metadata" in note
    sent = pickle.loads(payload)[3]
    assert (sent.response, sent.reference) == ("right", {"final_answer": "18"})
    hopeless = HeavyJob(0, Sample("h", 0, (), "x", deep(), {}), (0,), 1.0)
    with pytest.raises(RecursionError):
        encode_job((1, 0), "k", hopeless)


def test_a_poisoned_batch_never_grades_the_next_batch(pool):
    """Slow right answer + unpicklable sample, then a wrong answer: the wrong answer is graded wrong."""
    grades = grade_batch(
        spec(), [sample(0, "sleep 0.6 right"), sample(1, "right", {"deep": deep()})], pool=pool
    )
    nxt = grade_batch(spec(), [sample(0, "wrong")], pool=pool)
    assert (nxt[0][0].status, nxt[0][0].score) == (Status.OK, 0.0)  # before the fix: +1, the leaked grade
    assert [(g[0].status, g[0].score) for g in grades] == [(Status.OK, 1.0), (Status.OK, 1.0)]


def test_a_session_that_ends_abnormally_replaces_its_busy_workers(pool, monkeypatch):
    """Whatever breaks a session, the next one never meets a worker owing an answer to someone else."""
    from reward import workers

    grade_batch(spec(), [sample(0, "right")], pool=pool)  # warm
    calls = {"n": 0}
    busy: set[int] = set()
    original = workers._Session._collect

    def broken_collect(self, timeout):
        calls["n"] += 1
        if calls["n"] == 1:
            busy.update(w.pid for w in self.pool._workers if w.job is not None)
            raise RuntimeError("bookkeeping bug")
        return original(self, timeout)

    monkeypatch.setattr(workers._Session, "_collect", broken_collect)
    grades = grade_batch(spec(), [sample(0, "sleep 0.5 right"), sample(1, "sleep 0.5 right")], pool=pool)
    assert {g[0].status for g in grades} == {Status.FAILED}  # charged, and counted by the alarm
    assert all(w.job is None for w in pool._workers)
    assert busy and busy.isdisjoint(pool.pids())  # the busy workers were killed, not left to answer later
    monkeypatch.setattr(workers._Session, "_collect", original)
    nxt = grade_batch(spec(), [sample(0, "wrong"), sample(1, "wrong")], pool=pool)
    assert [(g[0].status, g[0].score) for g in nxt] == [(Status.OK, 0.0)] * 2


def test_a_result_of_another_session_is_discarded(pool):
    """A worker holding a stale answer (another session's token) cannot hand it to this session."""
    from reward.workers import _Session, spec_key, spec_table

    s = spec()
    grade_batch(s, [sample(0, "right")], pool=pool)  # workers ready, spec loaded
    worker = pool._workers[0]
    old = HeavyJob(0, sample(0, "sleep 0.3 right"), (0,), 10.0)
    worker.conn.send_bytes(encode_job((-1, 0), spec_key(spec_table(s)), old)[0])
    worker.job, worker.token, worker.expires = (
        old,
        (-1, 0),
        time.monotonic() + 10,
    )  # as a crashed session left it
    session = _Session(pool, s, [HeavyJob(0, sample(0, "wrong"), (0,), 10.0)], None)
    results = session.run(None)
    assert results[0][0].score == 0.0 and results[0][0].status is Status.OK
    assert worker not in pool._workers  # the leftover was killed before the session used the pool


def test_any_failure_to_send_or_read_is_that_samples_error_only(pool):
    grades = grade_batch(
        spec(), [sample(0, "unreadable"), sample(1, "unpicklable"), sample(2, "right")], pool=pool
    )
    assert grades[0][0].status is Status.FAILED and "could not be read" in grades[0][0].reason
    assert grades[1][0].status is Status.FAILED and "could not be sent back" in grades[1][0].reason
    assert (grades[2][0].status, grades[2][0].score) == (Status.OK, 1.0)
    assert len(pool.pids()) == 2
    nxt = grade_batch(spec(), [sample(0, "wrong"), sample(1, "right")], pool=pool)
    assert [g[0].score for g in nxt] == [0.0, 1.0]


def test_a_crash_that_does_not_repeat_is_ours_and_the_sample_is_graded(pool, tmp_path):
    grades = grade_batch(spec(), [sample(0, f"crash-once {tmp_path / 'flag'}")], pool=pool)
    assert (grades[0][0].status, grades[0][0].score) == (Status.OK, 1.0)


def test_a_response_that_kills_its_worker_every_time_is_charged_to_it(pool):
    grades = grade_batch(spec(), [sample(0, "crash"), sample(1, "right")], pool=pool)
    assert grades[0][0].status is Status.UNSCORABLE and "exited with code 3" in grades[0][0].reason
    assert grades[1][0].score == 1.0


# --- as the deployed function runs ------------------------------------------------------------------

DEPLOYED = r"""
import json, os, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "lambda_src"))
from reward import handler

class Context:
    def __init__(self, ms): self.until = time.monotonic() + ms / 1000
    def get_remaining_time_in_millis(self): return int((self.until - time.monotonic()) * 1000)

def element(i, response, metadata=None):
    return {"id": i, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}],
            "metadata": {"reference_answer": {"final_answer": "18"}, **(metadata or {})}}

deep = {}
for _ in range(int(sys.argv[2])):
    deep = {"x": deep}
first = handler.lambda_handler(
    [element("bomb", "\\boxed{9^{9^{9^{9}}}}"), element("deep", "\\boxed{18}", {"deep": deep})], Context(60000))
second = handler.lambda_handler([element("wrong", "\\boxed{17}")], Context(60000))
print(json.dumps({r["id"]: r["aggregate_reward_score"] for r in first + second}))
"""


def test_as_deployed_a_poisoned_batch_then_a_wrong_answer_scores_minus_one(tmp_path):
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "reward",
        "REWARD_SPEC": str(ROOT / "reward_specs/math.toml"),
        "REWARD_WORKERS": "2",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "LOG_LEVEL": "ERROR",
    }
    script = tmp_path / "deployed.py"
    script.write_text(DEPLOYED)
    done = subprocess.run(
        [sys.executable, str(script), str(ROOT), str(DEPTH)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    assert scores["wrong"] == -1.0
    assert scores["bomb"] == -1.0  # a grader-timeout bomb is no better than a wrong answer
    assert scores["deep"] == 1.0  # the unpicklable sample is still graded (sent without its metadata)
