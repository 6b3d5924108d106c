"""The runner's batched-grader hook (``Grader.batched`` + ``grade_many``), with stand-in graders: batched
dimensions start first and run alongside the others, the runner never waits past the batch deadline and
never raises, and what a batched grader does not hand in becomes ``deadline`` / ``error``."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from reward.event import parse_event
from reward.results import Grade, Status
from reward.runner import grade_batch
from reward.spec import load_spec


class Batched:
    """A stand-in batched grader: ``behaviour`` decides what ``grade_many`` does."""

    name = "fake"
    batched = True
    heavy = False
    needs_reference = False

    def __init__(self, behaviour: str = "ok", needs_reference: bool = False) -> None:
        self.behaviour = behaviour
        self.needs_reference = needs_reference
        self.calls: list[tuple[int, float | None, float]] = []
        self.release = threading.Event()
        self.finished = threading.Event()  # set when a "sleep" grader has returned

    def grade_many(self, samples, deadline):
        self.calls.append((len(samples), deadline, time.monotonic()))
        if self.behaviour == "sleep":
            self.release.wait(60)
            self.finished.set()
        if self.behaviour == "raise":
            raise RuntimeError("boom")
        if self.behaviour == "short":
            return [Grade.right()]
        if self.behaviour == "garbage":
            return [0.5 for _ in samples]
        return [Grade.partial(0.5, f"graded {s.id}") for s in samples]


def spec_with(tmp_path: Path, *graders) -> object:
    """A spec whose first dimensions are ``graders`` and whose last is a real light one (length)."""
    dims = "".join(
        f'[[dimensions]]\nname = "b{i}"\ngrader = "length"\n[dimensions.params]\ntarget = 5\nmax = 10\n'
        for i in range(len(graders))
    )
    path = tmp_path / "s.toml"
    path.write_text(
        dims
        + '[[dimensions]]\nname = "light"\ngrader = "length"\n[dimensions.params]\ntarget = 5\nmax = 10\n'
    )
    spec = load_spec(path)
    return dataclasses.replace(spec, graders=(*graders, spec.graders[-1]))


def samples(n: int, reference: bool = True):
    return parse_event(
        [
            {
                "id": str(i),
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a short reply"},
                ],
                **({"metadata": {"reference_answer": "x"}} if reference or i % 2 else {}),
            }
            for i in range(n)
        ]
    )


def test_batched_dimensions_get_the_whole_batch_and_the_rest_is_graded_too(tmp_path):
    a, b = Batched(), Batched()
    rows = grade_batch(spec_with(tmp_path, a, b), samples(5), deadline=time.monotonic() + 5)
    assert [len(c) for c in (a.calls, b.calls)] == [1, 1] and a.calls[0][0] == 5
    assert all(row[0].reason == f"graded {i}" and row[2].status is Status.OK for i, row in enumerate(rows))


def test_the_runner_does_not_wait_past_the_deadline(tmp_path):
    slow = Batched("sleep")
    deadline = time.monotonic() + 0.3
    rows = grade_batch(spec_with(tmp_path, slow), samples(4), deadline=deadline)
    # The grader sleeps until released (which happens only now): the runner returned without waiting for it.
    assert not slow.finished.is_set()
    slow.release.set()
    assert [row[0].status for row in rows] == [Status.DEADLINE] * 4
    assert [row[1].status for row in rows] == [Status.OK] * 4  # the light dimension was graded meanwhile
    assert slow.calls[0][1] < deadline  # the grader got a deadline a little before the batch's


def test_a_batched_grader_that_raises_or_miscounts_charges_the_responses_never_raises(tmp_path):
    for behaviour in ("raise", "short", "garbage"):
        rows = grade_batch(spec_with(tmp_path, Batched(behaviour)), samples(3), deadline=time.monotonic() + 5)
        assert [row[0].status for row in rows] == [Status.FAILED] * 3, behaviour


def test_rows_without_a_reference_are_not_sent_and_get_no_reference(tmp_path):
    grader = Batched(needs_reference=True)
    rows = grade_batch(spec_with(tmp_path, grader), samples(4, reference=False), deadline=None)
    assert grader.calls[0][0] == 2
    assert [row[0].status for row in rows] == [Status.NO_REFERENCE, Status.OK, Status.NO_REFERENCE, Status.OK]


def test_malformed_samples_are_not_sent(tmp_path):
    grader = Batched()
    event = parse_event([{"id": "bad"}, {"id": "ok", "messages": [{"role": "assistant", "content": "hi"}]}])
    rows = grade_batch(spec_with(tmp_path, grader), event, deadline=None)
    assert grader.calls[0][0] == 1 and rows[0][0].status is Status.FAILED and rows[1][0].status is Status.OK


def test_batched_and_heavy_dimensions_run_together(tmp_path):
    """A spec with a judge and a heavy (worker-process) grader: both are graded, the batched one in threads."""
    path = tmp_path / "mixed.toml"
    path.write_text(
        '[[dimensions]]\nname = "b0"\ngrader = "length"\n[dimensions.params]\ntarget = 5\nmax = 10\n'
        '[[dimensions]]\nname = "correct"\ngrader = "math"\n'
    )
    spec = load_spec(path)
    grader = Batched()
    spec = dataclasses.replace(spec, graders=(grader, spec.graders[1]))
    event = parse_event(
        [
            {
                "id": "1",
                "messages": [
                    {"role": "user", "content": "1+1?"},
                    {"role": "assistant", "content": "\\boxed{2}"},
                ],
                "metadata": {"reference_answer": "2"},
            }
        ]
    )

    class InlinePool:  # REWARD_WORKERS=0 behaviour: heavy graders inline
        size = 0

    rows = grade_batch(spec, event, deadline=time.monotonic() + 10, pool=InlinePool())
    assert rows[0][0].reason == "graded 1" and rows[0][1].status is Status.OK and rows[0][1].score == 1.0
