"""Strict JSON always: whatever the event holds, the reply serialises with ``allow_nan=False`` and encodes
as UTF-8; ids that strict JSON cannot carry are echoed in the documented form (docs/time-limits.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reward.contract import json_safe
from reward.grading import grade_event
from reward.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT / "reward_specs/gsm8k.toml"


def strict(reply: object) -> bytes:
    return json.dumps(reply, allow_nan=False, ensure_ascii=False).encode("utf-8")


def element(sample_id: object, response: object = "#### 18", reference: object = "18") -> dict:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}],
        "metadata": {"reference_answer": reference},
    }


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


# JSON values as Python's json.loads can produce them (NaN/Infinity included, lone surrogates included).
JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, categories=None)),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize(
    ("sample_id", "echoed"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (json.loads("1e309"), "Infinity"),
        (json.loads("-1e309"), "-Infinity"),
        (json.loads('"\\ud800"'), "\\ud800"),
        (json.loads('"a\\udfffb"'), "a\\udfffb"),
        ("ok-\U0001f600", "ok-\U0001f600"),
        ("plain", "plain"),
        ([1, float("nan")], [1, "NaN"]),
    ],
)
def test_ids_strict_json_cannot_carry_are_echoed_in_the_documented_form(sample_id, echoed):
    reply = grade_event(load_spec(GSM8K), [element(sample_id)])
    strict(reply)
    assert reply[0]["id"] == echoed
    assert reply[0]["aggregate_reward_score"] == 1.0  # the sample is still graded


def test_a_very_deep_id_is_cut_not_a_recursion_error():
    reply = grade_event(load_spec(GSM8K), [element(nested(5000)), element("b")])
    strict(reply)
    assert reply[1]["id"] == "b"
    depth, value = 0, reply[0]["id"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert value == "<nested too deep>" and depth == 32


def test_json_safe_leaves_json_values_untouched():
    value = {"a": [1, 2.5, "x", None, True, {"b": "\U0001f600"}]}
    assert json_safe(value) == value
    assert json_safe(10**5000).startswith("<integer of ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ids=st.lists(JSON_LIKE, min_size=1, max_size=4),
    response=JSON_LIKE,
    reference=JSON_LIKE,
)
def test_the_reply_is_strict_utf8_json_for_any_input(ids, response, reference):
    event = [element(i, response, reference) for i in ids]
    reply = grade_event(load_spec(GSM8K), event)
    encoded = strict(reply)
    assert len(json.loads(encoded)) == len(event)
    for sent, got in zip(ids, reply):
        if isinstance(sent, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in sent):
            assert got["id"] == sent  # a JSON-safe id is echoed exactly
        assert math.isfinite(got["aggregate_reward_score"])
