"""Judge pacing under a shared quota: the arithmetic (injected clock), the gate, retries until the deadline,
and handler processes converging on one quota (the shared-quota emulator; counts and statuses, no timing)."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from reward.bedrock_runtime import CallFailed, Usage, call_with_retries
from reward.pacing import BETA, MIN_RATE_PER_S, CallGate, RateController
from reward.spec import load_spec
from tests.bedrock_emulator import Script, bedrock_emulator

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the arithmetic, on a fake clock


def sent(controller: RateController, times: list[float]) -> None:
    """Calls sent at ``times``, each answered at once."""
    for t in times:
        controller.take(t)
        controller.on_success(t)


def test_unlimited_until_the_first_throttle_then_beta_times_the_answered_rate() -> None:
    """As botocore's adaptive mode: no limit until a throttle; then 0.7 x the rate that got answered (the
    first calls go out as a burst: their sending rate says nothing)."""
    c = RateController()
    assert c.rate is None and c.wait_s(0.0) == 0.0
    sent(c, [i * 0.05 for i in range(10)])  # 20 calls/s answered for 0.5 s
    assert c.on_throttle(sent_at=0.45, now=0.5)
    assert c.rate == pytest.approx(20 * BETA, rel=0.05)


def test_one_decrease_per_reaction_a_burst_of_throttles_is_one_signal() -> None:
    """Throttles of calls sent before the last decrease say nothing new (botocore would compound them)."""
    c = RateController()
    sent(c, [i * 0.1 for i in range(10)])  # 10/s
    assert c.on_throttle(sent_at=0.9, now=1.0)
    first = c.rate
    for _ in range(15):  # the rest of the burst, all sent before the decrease
        assert not c.on_throttle(sent_at=0.95, now=1.01)
    assert c.rate == first
    c.take(1.05)
    assert c.on_throttle(sent_at=1.05, now=1.1)  # sent after it: a new signal
    assert c.rate < first


def test_growth_follows_the_cubic_within_twice_the_measured_rate_and_never_below_the_floor() -> None:
    c = RateController()
    sent(c, [i * 0.1 for i in range(10)])
    c.on_throttle(sent_at=0.95, now=1.0)  # w_max = 10/s, rate 7/s
    sent(c, [1.0 + i * 0.1 for i in range(70)])  # keeps sending (and being answered) at 10/s
    c.on_success(now=2.0)
    early = c.rate
    c.on_success(now=7.95)  # long after k: the cubic is far above w_max, capped at 2 x measured
    assert early < 10 < c.rate <= 2 * c.measured_rate(7.95) + 1e-9
    c.on_success(now=30.0)  # nothing sent for 20 s: a rate not used is not banked
    assert c.rate == 2 * MIN_RATE_PER_S
    idle = RateController()
    idle.take(0.0)
    for t in range(1, 40):  # a throttle on every call: never below the floor
        idle.on_throttle(sent_at=float(t), now=float(t))
        idle.take(float(t))
    assert idle.rate == MIN_RATE_PER_S


def test_a_few_throttles_among_many_answers_do_not_slow_it_down() -> None:
    """Throttles that do not grow with the rate (1 in 5 here) are retried at the same pace; a quota's
    share of throttles (over a third) is not."""
    c = RateController()
    sent(c, [i * 0.01 for i in range(10)])
    assert c.on_throttle(sent_at=0.09, now=0.1)  # the first throttle, little evidence: slow down
    for i in range(1, 100):
        t = 0.1 + i * 0.01
        c.take(t)
        if i < 15 or i % 5:  # answers first (evidence), then 1 in 5 throttled
            c.on_success(now=t)
        else:
            assert not c.on_throttle(sent_at=t, now=t)
    decreased = []
    for i in range(40):
        t = 1.1 + i * 0.01
        c.take(t)
        decreased.append(c.on_throttle(sent_at=t, now=t))
    assert any(decreased)  # now a third and more of the answers are throttles: slow down


def test_tokens_pace_the_sends_at_the_rate() -> None:
    c = RateController()
    sent(c, [0.0, 0.0])
    c.on_throttle(sent_at=0.0, now=1.0)  # measured 1/s over the 2 s window -> floor or 0.7/s
    rate = c.rate
    assert rate is not None and c.wait_s(1.0) == pytest.approx(1.0 / rate)
    assert c.wait_s(1.0 + 1.0 / rate) == 0.0


# ------------------------------------------------------------------ the gate


def test_the_gate_lets_the_lowest_priority_through_first() -> None:
    """Sample 0's calls before sample 5's, whatever order the threads arrived in."""
    gate = CallGate(max_in_flight=1)
    first = gate.enter(0.0)  # holds the only slot while the others queue
    order: list[int] = []
    threads = []
    for priority in (5, 3, 9, 1):
        thread = threading.Thread(
            target=lambda p=priority: (gate.enter(p), order.append(p), gate.leave(0, "ok"))
        )
        threads.append(thread)
        thread.start()
        while len(gate._waiting) < len(threads):  # queued before the next one arrives
            time.sleep(0.001)
    gate.leave(first, "ok")
    for thread in threads:
        thread.join(5)
    assert order == [1, 3, 5, 9]


def test_the_gate_gives_up_when_no_token_comes_before_the_deadline() -> None:
    gate = CallGate(max_in_flight=4)
    t0 = time.monotonic()
    gate.controller.take(t0)
    gate.controller.on_throttle(sent_at=t0, now=t0)  # paced at 0.7 x 5/s: the next token in ~0.3 s
    gate.controller.take(t0)  # ... and it is spent: the one after comes ~0.6 s later
    assert gate.enter(0.0, deadline=t0 + 0.2) is None
    assert gate.in_flight == 0 and not gate._waiting


# ------------------------------------------------------------------ retries: throttles until the deadline


def throttling(n: int):
    calls = Counter()

    def send() -> dict:
        calls["n"] += 1
        if calls["n"] <= n:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
        return {"output": {}}

    return send


def test_with_a_deadline_throttles_do_not_use_up_max_attempts() -> None:
    usage = Usage()
    result = call_with_retries(
        throttling(6),
        usage,
        max_attempts=2,
        deadline=time.monotonic() + 60,
        backoff_base_s=0.01,
        backoff_max_s=0.01,
        accept=lambda reply: "judged",
        sleep=lambda s: None,
    )
    assert result == "judged" and (usage.calls, usage.throttles, usage.retries) == (7, 6, 6)


def test_without_a_deadline_or_with_count_throttles_they_do() -> None:
    """The CLI's sampling (no deadline) and JUDGE_PACING=off keep the fixed number of attempts."""
    for deadline in (None, time.monotonic() + 60):
        usage = Usage()
        with pytest.raises(CallFailed) as failed:
            call_with_retries(
                throttling(6),
                usage,
                max_attempts=2,
                deadline=deadline,
                backoff_base_s=0.01,
                backoff_max_s=0.01,
                accept=lambda reply: "judged",
                sleep=lambda s: None,
                count_throttles=True,
            )
        assert failed.value.kind == "exhausted" and usage.calls == 2


def test_a_throttled_call_ends_as_deadline_when_the_deadline_comes() -> None:
    usage = Usage()
    with pytest.raises(CallFailed) as failed:
        call_with_retries(
            throttling(10_000),
            usage,
            max_attempts=2,
            deadline=time.monotonic() + 0.2,
            backoff_base_s=0.01,
            backoff_max_s=0.02,
            accept=lambda reply: "judged",
        )
    assert failed.value.kind == "deadline" and usage.throttles > 2  # not "exhausted" after 2 attempts


# ------------------------------------------------------------------ handler processes sharing one quota


class Context:
    def __init__(self, remaining_s: float) -> None:
        self.aws_request_id = "test"
        self.end = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


def invocation(spec, worker: int, samples: int, remaining_s: float, start, results) -> None:
    """One reward invocation in its own process (a forked execution environment), grading like the handler."""
    from reward.grading import grade_event
    from reward.judge import runtime as judge_runtime

    judge_runtime.reset()  # a fresh execution environment: nothing learned or pooled from the parent
    rows = [json.loads(x) for x in (ROOT / "data/support/train.jsonl").read_text().splitlines() if x]
    event = [
        {
            "id": f"{worker}-{i}",
            "messages": [
                *rows[i]["messages"],
                {"role": "assistant", "content": f"{rows[i]['reference_answer']['answer']} (#{worker}-{i})"},
            ],
            "metadata": {"reference_answer": rows[i]["reference_answer"]},
        }
        for i in range(samples)
    ]
    start.wait()
    context = Context(remaining_s)
    reply = grade_event(spec, event, context=context)
    statuses = Counter()
    for element in reply:
        names = {m["name"] for m in element["metrics_list"]}
        for dim in ("quality", "safety"):
            found = [n.split(".status.")[1] for n in names if n.startswith(f"{dim}.status.")]
            statuses[found[0] if found else "ok"] += 1
    results.put((len(reply), dict(statuses), context.get_remaining_time_in_millis()))


def fan_out(n: int, samples: int, remaining_s: float, script: Script) -> tuple[list, object]:
    ctx = mp.get_context("fork")  # fast: the parent has imported everything already
    start, results = ctx.Event(), ctx.Queue()
    with bedrock_emulator(script) as emu:
        spec = load_spec(ROOT / "reward_specs/support_rubric.toml")
        procs = [
            ctx.Process(target=invocation, args=(spec, w, samples, remaining_s, start, results))
            for w in range(n)
        ]
        for p in procs:
            p.start()
        start.set()
        outs = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(10)
    return outs, emu


def test_invocations_sharing_a_quota_that_fits_judge_everything_without_a_retry_storm() -> None:
    """3 invocations x 4 samples x 2 judge calls = 24 calls at 20 req/s: all judged, <= 2.5 calls each."""
    outs, emu = fan_out(3, 4, 20.0, Script(latency_s=0.02, quota_per_s=20))
    statuses = sum((Counter(s) for _, s, _ in outs), Counter())
    assert statuses == {"ok": 24}
    assert len(emu.requests) <= 2.5 * 24
    assert all(n == 4 and left > 0 for n, _, left in outs)


def test_under_overload_only_the_deadline_stops_a_sample_and_admitted_calls_are_not_wasted() -> None:
    """3 x 6 samples = 36 calls against 4 req/s and a 1.5 s batch: most samples are `deadline` (ours),
    none fails otherwise, and the calls the quota admitted became verdicts — all but, at most, the one each
    invocation had in flight when its deadline came (on a busy machine its reply can land a moment late)."""
    invocations = 3
    outs, emu = fan_out(invocations, 6, 3.0, Script(latency_s=0.02, quota_per_s=4))
    statuses = sum((Counter(s) for _, s, _ in outs), Counter())
    assert set(statuses) <= {"ok", "deadline"} and statuses["deadline"] > 0
    assert emu.admitted > 0 and statuses["ok"] >= emu.admitted - invocations
    assert all(n == 6 and left > 0 for n, _, left in outs)  # every invocation answered before its timeout
