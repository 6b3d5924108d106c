"""``json``: one unambiguous JSON value, schema-valid, fields compared with the reference object."""

from __future__ import annotations

import json

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.graders.json_fields import JsonProblem, extract_json, json_equal
from reward.results import Status

# docs/contract.md §1's example of an object reference.
REFERENCE = {"compliant": "No", "explanation": "The copy promises guaranteed returns, which breaks R1."}
CONTRACT = {"fields": {"compliant": "exact", "explanation": "similarity"}}
SCHEMA = {
    "type": "object",
    "required": ["compliant", "explanation"],
    "additionalProperties": False,
    "properties": {"compliant": {"enum": ["Yes", "No"]}, "explanation": {"type": "string"}},
}


def grade(response, reference=REFERENCE, **params):
    grader = grader_class("json").from_params(params)
    return grader.grade(Sample(id="x", index=0, response=response, reference=reference))


def test_contract_example_exact_verdict_and_free_text_explanation():
    assert grade(json.dumps(REFERENCE), **CONTRACT).score == 1.0
    reworded = {"compliant": "No", "explanation": "It guarantees returns: R1 is broken."}
    g = grade(json.dumps(reworded), **CONTRACT)
    assert 0.5 < g.score < 1.0  # verdict right (1) + partial explanation overlap, averaged
    wrong = {"compliant": "Yes", "explanation": REFERENCE["explanation"]}
    assert grade(json.dumps(wrong), **CONTRACT).score == pytest.approx(0.5)
    assert grade(json.dumps(wrong), compare="exact", **CONTRACT).score == 0.0
    assert grade(json.dumps(reworded), compare="exact", similarity_pass=0.2, **CONTRACT).score == 1.0


def test_fenced_block_with_prose_is_read():
    text = "Here is my verdict:\n```json\n" + json.dumps(REFERENCE) + "\n```\nThanks."
    assert grade(text, **CONTRACT).score == 1.0
    assert grade(text, allow_fenced=False, **CONTRACT).status is Status.UNSCORABLE


@pytest.mark.parametrize(
    "response,status",
    [
        ("The copy is not compliant.", Status.UNSCORABLE),
        ('{"compliant": "No"', Status.UNSCORABLE),
        (json.dumps(REFERENCE) + "\n" + json.dumps({**REFERENCE, "compliant": "Yes"}), Status.UNSCORABLE),
        ("```json\n" + json.dumps(REFERENCE) + '\n```\n```json\n{"compliant": "Yes"}\n```', Status.OK),
        ('{"compliant": "Yes", "compliant": "No", "explanation": "x"}', Status.OK),
        ('{"compliant": NaN, "explanation": "x"}', Status.OK),
    ],
)
def test_missing_or_ambiguous_json_earns_nothing(response, status):
    g = grade(response, **CONTRACT)
    assert g.score == 0.0 and g.status is status, g.reason


@pytest.mark.parametrize(
    "value",
    [
        {"compliant": "Yes or No", "explanation": "x" * 20},
        {"compliant": ["Yes", "No"], "explanation": "y" * 20},
    ],
)
def test_hedged_verdicts_fail_schema_and_field(value):
    assert grade(json.dumps(value), compare="none", schema=SCHEMA).score == 0.0
    assert grade(json.dumps(value), fields={"compliant": "exact"}, default_mode="ignore").score == 0.0


def test_schema_violation_scores_zero_and_names_the_path():
    g = grade(json.dumps({"compliant": "Maybe", "explanation": "x"}), compare="none", schema=SCHEMA)
    assert g.score == 0.0 and "compliant" in g.reason
    assert grade(json.dumps(REFERENCE), compare="none", schema=SCHEMA).score == 1.0


def test_compare_none_needs_no_reference_but_fields_do():
    assert grader_class("json").from_params({"compare": "none"}).needs_reference is False
    assert grader_class("json").from_params({}).needs_reference is True
    assert grade("{}", reference="not json", compare="fields").status is Status.NO_REFERENCE


def test_reference_given_as_a_json_string_and_sub_object():
    assert grade(json.dumps(REFERENCE), reference=json.dumps(REFERENCE), **CONTRACT).score == 1.0
    wrapped = {"expected": REFERENCE, "task": "t1"}
    assert grade(json.dumps(REFERENCE), reference=wrapped, reference_key="expected", **CONTRACT).score == 1.0


def test_field_modes():
    ref = {"name": "Ada Lovelace", "year": 1815, "note": "x", "ok": True}
    response = {"name": "ada  lovelace!", "year": 1815.0, "note": "anything", "ok": 1}
    params = {"fields": {"name": "normalized", "note": "ignore"}}
    g = grade(json.dumps(response), reference=ref, **params)
    assert g.score == pytest.approx(2 / 3)  # name and year match, ok: true != 1
    assert grade(json.dumps({**response, "ok": True}), reference=ref, **params).score == 1.0
    assert grade(json.dumps({"name": "Ada Lovelace"}), reference=ref, **params).score == pytest.approx(1 / 3)


def test_extra_keys_forbid_adds_failed_fields():
    value = {**REFERENCE, "confidence": 0.9}
    assert grade(json.dumps(value), **CONTRACT).score == 1.0
    assert grade(json.dumps(value), extra_keys="forbid", **CONTRACT).score == pytest.approx(2 / 3)


def test_non_object_references_compare_whole_values():
    assert grade("[1, 2, 3]", reference=[1, 2, 3.0]).score == 1.0
    assert grade("[1, 2]", reference=[1, 2, 3]).score == 0.0
    assert grade("[1, 2]", reference=REFERENCE).score == 0.0


def test_json_equal_keeps_booleans_apart_from_numbers():
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1) and not json_equal(0, False) and not json_equal("1", 1)


def test_deep_nesting_and_huge_numbers_are_rejected_not_raised():
    with pytest.raises(JsonProblem):
        extract_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(JsonProblem):
        extract_json("1" * 10_000)
    assert grade('{"a": ' * 50_000 + "1" + "}" * 50_000, **CONTRACT).score == 0.0


@pytest.mark.parametrize(
    "params,key",
    [
        ({"fields": {"x": "fuzzy"}}, "fields"),
        ({"schema": {"type": "nonsense"}}, "schema"),
        ({"similarity_pass": 2}, "similarity_pass"),
        ({"default_mode": "ignore", "fields": {"x": "ignore"}}, "fields"),
        ({"compare": "partial"}, "compare"),
    ],
)
def test_bad_params_name_the_key(params, key):
    with pytest.raises(ParamError) as info:
        grader_class("json").from_params(params)
    assert info.value.key == key


@pytest.mark.parametrize(
    "response",
    [
        "",
        " ",
        ":",
        "Thought process:",
        "\ud800",
        '"\\ud800"',
        "\x00\xff" * 1000,
        "{" * 200_000,
        "x" * 1_000_000,
    ],
)
def test_hostile_responses_never_raise_or_pay(response):
    for params in (CONTRACT, {"compare": "none", "schema": SCHEMA}):
        g = grade(response, **params)
        assert g.score == 0.0 and g.status in (Status.OK, Status.UNSCORABLE)


def test_allow_prose_false_rejects_padding_around_the_fenced_block():
    fenced = "```json\n" + json.dumps(REFERENCE) + "\n```"
    assert grade(f"  {fenced}\n", allow_prose=False, **CONTRACT).score == 1.0
    padded = grade(f"Let me think about this carefully.\n{fenced}\nDone.", allow_prose=False, **CONTRACT)
    assert padded.status is Status.UNSCORABLE and "around" in padded.reason
