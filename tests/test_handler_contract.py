"""The reward Lambda answers every element of any batch, in order, within the contract (docs/contract.md §1)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reward.contract import check_reply
from reward.grading import grade_event
from reward.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def handler():
    """The deployed handler's grading with the shipped GSM8K spec (``lambda_handler`` minus the
    environment, which the tests below and tests/test_bundle_runtime.py cover)."""
    spec = load_spec(ROOT / "reward_specs/gsm8k.toml")
    return lambda event, context: grade_event(spec, event, context=context)


def test_the_handler_reads_its_spec_from_the_environment_relative_to_the_task_root(tmp_path, monkeypatch):
    """The deployed function names its bundled spec by a relative REWARD_SPEC, resolved against
    LAMBDA_TASK_ROOT (the bundle's root), and loads it once per value."""
    from reward import handler

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "g.toml").write_bytes((ROOT / "reward_specs/gsm8k.toml").read_bytes())
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("REWARD_SPEC", "specs/g.toml")
    assert handler.spec_path() == tmp_path / "specs" / "g.toml"
    assert handler.current_spec() is handler.current_spec()
    reply = handler.lambda_handler([element(0, "#### 18"), element(1, "#### 17")], None)
    assert [r["aggregate_reward_score"] for r in reply] == [1.0, -1.0]


def test_the_handler_without_a_spec_says_which_variable_to_set(monkeypatch):
    from reward import handler

    monkeypatch.delenv("REWARD_SPEC", raising=False)
    with pytest.raises(RuntimeError, match="REWARD_SPEC is not set"):
        handler.spec_path()


def element(i, answer, *, reference={"final_answer": "18"}, where="metadata", content_as_blocks=False):
    content = [{"type": "text", "text": answer}] if content_as_blocks else answer
    item = {
        "id": f"id-{i}",
        "messages": [
            {"role": "system", "content": "You are a math tutor."},
            {"role": "user", "content": "What is 10 + 8? End with #### <answer>."},
            {"role": "assistant", "content": content},
        ],
        "metadata": {"task_id": f"t{i}"},
    }
    if where == "metadata":
        item["metadata"]["reference_answer"] = reference
    elif where == "top":
        item["reference_answer"] = reference
    return item


def scores(reply):
    return [e["aggregate_reward_score"] for e in reply]


def test_contract_example_is_answered_exactly(handler):
    event = [element(0, "10 + 8 = 18\n#### 18")]
    reply = handler(event, None)
    assert check_reply(event, reply) == []
    assert reply[0]["id"] == "id-0" and reply[0]["aggregate_reward_score"] == 1.0
    rewards = {m["name"]: m["value"] for m in reply[0]["metrics_list"] if m["type"] == "Reward"}
    assert rewards == {"correctness": 1.0, "format": 1.0, "conciseness": 1.0}


def test_reference_is_read_from_metadata_then_top_level(handler):
    event = [
        element(0, "#### 18", where="metadata"),
        element(1, "#### 18", where="top"),
        element(2, "#### 18", where="none"),
    ]
    reply = handler(event, None)
    assert scores(reply)[:2] == [1.0, 1.0]
    names = {m["name"] for m in reply[2]["metrics_list"]}
    assert "correctness.status.no_reference" in names
    assert scores(reply)[2] == 0.0  # excluded, not punished as a wrong answer


def test_string_and_text_block_content_grade_the_same(handler):
    event = [element(0, "#### 18"), element(1, "#### 18", content_as_blocks=True)]
    assert scores(handler(event, None)) == [1.0, 1.0]


@pytest.mark.parametrize(
    "event",
    [
        {"not": "a list"},
        "a string",
        None,
        42,
        [],
        [None, 3, "x", [], {}],
        [{"id": "a"}, {"id": "b", "messages": []}, {"id": "c", "messages": "hello"}],
        [{"id": "d", "messages": [{"role": "user", "content": "q"}]}],  # no assistant turn
        [{"id": "e", "messages": [{"role": "assistant", "content": None}]}],
        [{"id": "f", "messages": [{"role": "assistant", "content": "#### 1"}], "metadata": "oops"}],
        [{"id": 7, "messages": [{"role": "assistant", "content": "#### 18"}], "reference_answer": 18}],
    ],
)
def test_malformed_batches_never_raise_and_every_element_is_answered(handler, event):
    reply = handler(event, None)
    expected = event if isinstance(event, list) else []
    assert check_reply(expected, reply) == []
    for got, sent in zip(reply, expected):
        assert got["id"] == (sent.get("id") if isinstance(sent, dict) else None)
        assert math.isfinite(got["aggregate_reward_score"]) and -1 <= got["aggregate_reward_score"] <= 1


def test_malformed_elements_are_flagged_and_charged_like_a_wrong_answer(handler):
    """What reached us is not a gradable response (no assistant message): it must never pay better than
    an honest wrong answer (-1), and it is flagged ``failed`` so the charged-failure alarm counts it."""
    reply = handler([{"id": "a", "messages": [{"role": "user", "content": "q"}]}], None)
    names = {m["name"] for m in reply[0]["metrics_list"] if m["type"] == "Metric"}
    assert "correctness.status.failed" in names and reply[0]["aggregate_reward_score"] == -1.0


def test_order_is_kept_in_a_large_mixed_batch(handler):
    answers = ["#### 18", "#### 17", "", "#### 17 or 18", "The answer is 18."]
    event = [element(i, answers[i % len(answers)]) for i in range(500)]
    reply = handler(event, None)
    assert [e["id"] for e in reply] == [e["id"] for e in event]
    assert scores(reply)[:5] == [
        1.0,
        -1.0,
        -1.0,
        -1.0,
        pytest.approx((0.8 - 0.2 + 0.15) / 1.15),
    ]  # right, unformatted


def test_oversize_response_is_unscorable_without_parsing(handler):
    reply = handler([element(0, "#### 18\n" + "x" * 50_000)], None)
    names = {m["name"] for m in reply[0]["metrics_list"]}
    assert "correctness.status.unscorable" in names and reply[0]["aggregate_reward_score"] == -1.0


class _Context:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def test_an_exhausted_deadline_answers_every_sample_with_status_deadline(handler):
    event = [element(i, "#### 18") for i in range(3)]
    reply = handler(event, _Context(0))
    assert check_reply(event, reply) == []
    assert all("correctness.status.deadline" in {m["name"] for m in e["metrics_list"]} for e in reply)


def test_every_correct_answer_outscores_every_wrong_or_degenerate_one(handler):
    good = ["#### 18", "10 + 8 = 18\n#### 18", "The answer is 18.", "\\boxed{18}", "#### $18.00"]
    bad = [
        "",
        " ",
        ":",
        "Thought process:",
        "Let's solve this problem step by step.",
        "#### 17 or 18",
        "#### 17",
        "#### 18\nThe answer is 17.",
        "18",
        "#### \uff11\uff18",
    ]
    reply = handler([element(i, a) for i, a in enumerate(good + bad)], None)
    good_scores, bad_scores = scores(reply)[: len(good)], scores(reply)[len(good) :]
    assert min(good_scores) > max(bad_scores)
    assert set(bad_scores) == {-1.0}
