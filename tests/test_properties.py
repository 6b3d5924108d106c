"""Property tests of the reward Lambda over generated events, for every shipped spec: whatever arrives,
``reward.grading.grade_event`` (what ``lambda_handler`` runs) answers every element, in order, with a finite score in [-1, 1] and well-formed
metrics (docs/contract.md §1, checked by ``reward.contract.check_reply``), and never raises."""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reward.contract import check_reply, json_safe
from reward.controls import positive_control
from reward.grading import grade_event
from reward.spec import load_spec
from tests.bedrock_emulator import bedrock_emulator

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "reward_specs").glob("*.toml"))
SAMPLE_ROWS = {
    "gsm8k": ROOT / "data/sample/train.jsonl",
    "math": ROOT / "data/math/train.jsonl",
    "structured_json": ROOT / "data/structured_json/train.jsonl",
    "support_rubric": ROOT / "data/support/train.jsonl",
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rows(name: str, n: int = 12) -> list[dict[str, Any]]:
    path = SAMPLE_ROWS.get(name)
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n] if line.strip()]


def judge_peer(spec_path: Path) -> AbstractContextManager[object]:
    """Judge specs call Bedrock: point them at the emulator's honest judge (a real HTTP peer)."""
    return bedrock_emulator() if load_spec(spec_path).uses_judge else nullcontext()


# --- strategies ----------------------------------------------------------------------------------
SPECIAL_TEXT = [
    "",
    " \n\t",
    ":",
    "Thought process:",
    "Let's solve this problem step by step.",
    "#### 18",
    "#### 17 or 18",
    "\\boxed{\\frac{1}{2}}",
    "\\boxed{\\dfrac{5^{(5^{(5^{5^5})} - 4)} - 5}{16}}",
    '{"compliant": "No", "explanation": "It breaks R1."}',
    '{"compliant": "No", "compliant": "Yes"}',
    '```json\n{"a": 1}\n```',
    "[" * 5000,
    '{"a": ' * 3000,
    "\ud800\udc00\udfff",
    "\x00\x01\xff\ufffe",
    "１８",
    "x" * 120_000,  # over every spec's max_response_chars
    "word " * 3000,
]
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(SPECIAL_TEXT),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=100),
    # lone surrogates: valid in a Python str (json.loads makes them from "\\ud800"), invalid UTF-8
    st.builds(
        lambda a, cs: a + "".join(map(chr, cs)),
        st.text(max_size=20),
        st.lists(st.integers(0xD800, 0xDFFF), max_size=4),
    ),
    st.builds(lambda a, b: a + b, st.sampled_from(SPECIAL_TEXT), st.text(max_size=50)),
)
ids = st.one_of(
    st.text(max_size=40), st.integers(), st.none(), st.uuids().map(str), st.just("id\u0000\ud800")
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
references = st.one_of(
    json_values,
    st.fixed_dictionaries({"final_answer": st.one_of(st.text(max_size=20), st.integers(), st.just("18"))}),
    st.fixed_dictionaries(
        {"compliant": st.sampled_from(["Yes", "No", ""]), "explanation": st.text(max_size=60)}
    ),
)
content = st.one_of(
    texts,
    texts.map(lambda t: [{"type": "text", "text": t}]),
    st.lists(
        st.one_of(texts.map(lambda t: {"type": "text", "text": t}), st.just({"type": "image"}), json_scalars),
        max_size=3,
    ),
    json_values,
)
messages = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant", "tool", ""]), "content": content}
        ),
        json_values,
    ),
    max_size=4,
)


@st.composite
def elements(draw: Any, rows: list[dict[str, Any]], template: str) -> Any:
    kind = draw(st.sampled_from(["row", "row", "row", "generated", "junk"]))
    if kind == "junk":
        return draw(json_values)
    if kind == "row" and rows:
        row = draw(st.sampled_from(rows))
        reference = row["reference_answer"]
        response = draw(st.one_of(texts, st.just(positive_control(template, reference))))
        reply = draw(st.one_of(st.just(response), st.just([{"type": "text", "text": response}])))
        element = {
            "id": draw(ids),
            "messages": [*row["messages"], {"role": "assistant", "content": reply}],
            "metadata": {k: v for k, v in row.items() if k != "messages"},
        }
    else:
        element = {"id": draw(ids), "messages": draw(messages)}
        where = draw(st.sampled_from(["metadata", "top", "none", "both"]))
        if where in ("metadata", "both"):
            element["metadata"] = draw(
                st.one_of(st.fixed_dictionaries({"reference_answer": references}), json_values)
            )
        if where in ("top", "both"):
            element["reference_answer"] = draw(references)
    if draw(st.booleans()) and isinstance(element, dict):
        element.pop(draw(st.sampled_from(["id", "messages", "metadata"])), None)
    return element


# --- properties ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_handler_answers_every_element_within_the_contract(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    rows = _rows(spec.name)

    @SETTINGS
    @given(event=st.lists(elements(rows, spec.control_template), max_size=6))
    def check(event: list[Any]) -> None:
        reply = grade_event(spec, event)
        assert check_reply(event, reply) == []
        assert len(reply) == len(event)
        for element, answer in zip(event, reply):
            expected_id = element.get("id") if isinstance(element, dict) else None
            # echoed exactly, or in the documented strict-JSON form when JSON cannot carry it
            assert answer["id"] == json_safe(expected_id)
            if isinstance(expected_id, str) and expected_id.isascii():
                assert answer["id"] == expected_id
            assert (
                math.isfinite(answer["aggregate_reward_score"])
                and -1 <= answer["aggregate_reward_score"] <= 1
            )
        # the reply serializes as the Lambda runtime will send it, as strict UTF-8 JSON
        json.dumps(reply, allow_nan=False, ensure_ascii=False).encode("utf-8")

    with judge_peer(spec_path):
        check()


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
@pytest.mark.parametrize("event", [None, 7, "text", {}, {"messages": "nope"}, [], [[]], [None] * 3])
def test_non_list_and_empty_events_never_raise(spec_path: Path, event: Any) -> None:
    with judge_peer(spec_path):
        reply = grade_event(load_spec(spec_path), event)
    assert isinstance(reply, list)
    if isinstance(event, list):
        assert check_reply(event, reply) == []


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_a_context_near_its_deadline_still_gets_a_full_reply(spec_path: Path) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 1  # already past the safety margin: every sample gets status deadline

    rows = _rows(load_spec(spec_path).name, 3)
    event = [
        {
            "id": str(i),
            "messages": [*r["messages"], {"role": "assistant", "content": "#### 1"}],
            "metadata": r,
        }
        for i, r in enumerate(rows)
    ]

    with judge_peer(spec_path):
        reply = grade_event(load_spec(spec_path), event, context=Context())
    assert check_reply(event, reply) == []


# --- every grader, directly: no input makes one raise, and nothing earns credit from nothing ----------
GRADER_CONFIGS = {
    "choice": {},
    "exact": {},
    "exact_whole": {"extract": "whole"},
    "regex": {"must_match": [r"<think>.+?</think>"], "must_not_match": ["(?i)as an ai"], "dotall": True},
    "json": {"fields": {"compliant": "exact", "explanation": "similarity"}},
    "json_schema": {"compare": "none", "schema": {"type": "object", "required": ["a"]}},
    "length": {"target": 5, "max": 10},
    "length_relative": {"relative": True, "target": 1.0, "max": 2.0},
    "terms": {"required": ["fox"], "forbidden": ["cure"]},
    "similarity": {},
    "similarity_ratio": {"metric": "ratio", "extract": "final"},
    "custom": {"function": "examples_custom_reward:cites_rule"},
}


def _grader(config: str) -> Any:
    from reward.graders import grader_class

    return grader_class(config.split("_")[0]).from_params(GRADER_CONFIGS[config])


GRADERS = {name: _grader(name) for name in GRADER_CONFIGS}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    response=st.one_of(texts, st.none()),
    reference=references,
    metadata=st.one_of(
        st.dictionaries(st.text(max_size=8), json_values, max_size=3), st.just({"rule": "R1"})
    ),
)
def test_no_grader_raises_and_nothing_pays_for_an_empty_response(response, reference, metadata):
    from reward.event import Sample
    from reward.results import Grade, Status
    from reward.text import has_content

    sample = Sample(id="p", index=0, response=response, reference=reference, metadata=metadata)
    for name, grader in GRADERS.items():
        grade = grader.grade(sample)
        assert isinstance(grade, Grade) and isinstance(grade.status, Status), name
        assert 0.0 <= grade.score <= 1.0 and math.isfinite(grade.score), name
        if not has_content(response):
            assert grade.score == 0.0 and grade.status is not Status.OK, (name, grade)
