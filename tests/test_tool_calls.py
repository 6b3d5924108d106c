"""Tool calling: reading calls from every shape, the tool_call grader, the dataset rules, the shipped
spec and data, and the tool-call probe families (docs/tool-calling.md)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from reward.dataset import validate_dataset_lines
from reward.event import parse_event
from reward.graders.base import ParamError
from reward.graders.tool_call import ToolCallGrader, best_assignment, values_equal
from reward.grading import grade_event
from reward.spec import SpecError, load_spec, parse_spec
from reward.tool_calls import MAX_CALLS, read_tool_calls
from rft import attacks_tools

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "reward_specs/tool_calling.toml"
DATA = ROOT / "data/tool_calling"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "default": 1},
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
BOOK = {
    "type": "function",
    "function": {
        "name": "book_table",
        "description": "Book a restaurant table.",
        "parameters": {
            "type": "object",
            "properties": {"people": {"type": "integer"}, "vegan": {"type": "boolean"}},
            "required": ["people"],
        },
    },
}
TOOLS = [WEATHER, BOOK]
RIGHT = {"city": "Paris", "units": "celsius"}
REFERENCE = {"tool_called": "get_weather", "tool_parameters": RIGHT}


def element(reply: dict[str, Any], reference: Any = REFERENCE, tools: Any = TOOLS, sid: str = "s") -> dict:
    return {
        "id": sid,
        "messages": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", **reply}],
        "metadata": {"reference_answer": reference, "tools": tools},
    }


def openai(name: str, arguments: Any) -> dict[str, Any]:
    args = json.dumps(arguments) if not isinstance(arguments, str) else arguments
    return {
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": args}}],
    }


def text(body: str) -> dict[str, Any]:
    return {"content": body}


#: A correct call in every supported shape.
CORRECT_SHAPES: dict[str, dict[str, Any]] = {
    "openai": openai("get_weather", RIGHT),
    "openai_object_arguments": {
        "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": RIGHT}}],
    },
    "converse": {"content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": RIGHT}}]},
    "converse_with_text": {
        "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": RIGHT}},
        ]
    },
    "json_object": text(json.dumps({"name": "get_weather", "arguments": RIGHT})),
    "json_parameters": text(json.dumps({"name": "get_weather", "parameters": RIGHT})),
    "json_array": text(json.dumps([{"name": "get_weather", "arguments": RIGHT}])),
    "json_fenced": text("```json\n" + json.dumps({"name": "get_weather", "arguments": RIGHT}) + "\n```"),
    "tagged_with_reasoning": text(
        "<thinking>I should call get_weather(city='Lyon').</thinking>Sure.\n<tool_call>"
        + json.dumps({"name": "get_weather", "arguments": RIGHT})
        + "</tool_call>"
    ),
    "trimmed_casefolded_value": openai("get_weather", {"city": "  paris ", "units": "celsius"}),
    "default_argument_given": openai("get_weather", {**RIGHT, "days": 1}),
}


def test_an_argument_at_its_default_may_be_left_out_and_answer_after_does_not_hide_calls():
    reference = {"tool_calls": [{"name": "get_weather", "arguments": {**RIGHT, "days": 1}}]}
    assert scores([element(openai("get_weather", RIGHT), reference)]) == [1.0]

    spec = 'answer_after = "</thinking>"\n' + spec_with()
    assert scores([element(openai("get_weather", RIGHT))], spec) == [1.0]


def scores(elements: list[dict[str, Any]], spec_text: str | None = None) -> list[float]:
    spec = load_spec(SPEC) if spec_text is None else parse_spec(__import__("tomllib").loads(spec_text))
    return [e["aggregate_reward_score"] for e in grade_event(spec, elements, deadline=None)]


def spec_with(**params: Any) -> str:
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in params.items())
    return f'[[dimensions]]\nname = "tool_call"\ngrader = "tool_call"\n[dimensions.params]\n{lines}\n'


# --------------------------------------------------------------------------------------------------
# Reading calls and the event.


@pytest.mark.parametrize("shape", sorted(CORRECT_SHAPES))
def test_a_correct_call_in_every_shape_earns_the_top_score(shape):
    assert scores([element(CORRECT_SHAPES[shape])]) == [1.0]


def test_the_shape_read_is_a_metric_named_after_the_dimension():
    reply = grade_event(
        load_spec(SPEC), [element(CORRECT_SHAPES["openai"]), element(CORRECT_SHAPES["converse"])]
    )
    names = [{m["name"] for m in e["metrics_list"]} for e in reply]
    assert "tool_call.shape.openai" in names[0] and "tool_call.shape.converse" in names[1]
    assert {"tool_call.selection_precision", "tool_call.values_equal", "tool_call.schema_valid"} <= names[0]


def test_content_null_with_tool_calls_is_a_response_not_an_error():
    sample = parse_event([element(CORRECT_SHAPES["openai"])])[0]
    assert sample.problem == "" and sample.response == "" and sample.response_message is not None


def test_an_assistant_reply_without_text_is_an_empty_response_scored_at_the_floor():
    (sample,) = parse_event([element({"content": None})])
    assert sample.problem == "" and sample.response == ""
    assert scores([element({"content": None})]) == [-1.0]


def test_unreadable_structured_calls_are_the_responses_failure():
    for reply in (
        {"content": None, "tool_calls": "garbage"},
        openai("get_weather", "{not json"),
        openai("get_weather", "[1, 2]"),
        {"content": None, "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]},
    ):
        assert scores([element(reply)]) == [-1.0], reply


def test_call_like_text_is_not_read_when_a_structured_call_exists():
    reply = {
        "content": json.dumps({"name": "get_weather", "arguments": RIGHT}),
        "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
        ],
    }
    read = read_tool_calls({"role": "assistant", **reply}, reply["content"])
    assert read.shape == "openai" and [c.arguments for c in read.calls] == [{"city": "Rome"}]
    assert scores([element(reply)]) == [-1.0]


def test_python_calls_are_read_only_when_enabled():
    body = text('get_weather(city="Paris", units="celsius")')
    assert scores([element(body)]) == [-1.0]
    assert scores([element(body)], spec_with(python_calls=True)) == [1.0]
    read = read_tool_calls(None, "__import__('os').system('x')", python=True)
    assert read.calls and read.calls[0].problem  # never evaluated: a positional arg / non-literal


def test_reading_is_bounded_on_giant_and_adversarial_text():
    deep = "[" * 100_000 + "]" * 100_000
    many = json.dumps([{"name": "get_weather", "arguments": RIGHT}] * 5000)
    for body in (
        deep,
        "<tool_call>" * 50_000,
        many,
        "{" + '"a":' * 50_000,
        "<think></think>" * 50_000 + "<thinking>" * 50_000,
    ):
        read = read_tool_calls(None, body)
        assert len(read.calls) <= MAX_CALLS + 1
    huge = openai("get_weather", {"city": "x" * 500_000})
    assert scores([element(huge)]) == [-1.0]


# --------------------------------------------------------------------------------------------------
# The grader: no way to win by calling more.

HONEST_WRONG = openai("get_weather", {"city": "Lyon", "units": "celsius"})
ATTACKS: dict[str, dict[str, Any]] = {
    "hedge": text(
        json.dumps(
            [
                {"name": "get_weather", "arguments": RIGHT},
                {"name": "get_weather", "arguments": {"city": "Lyon", "units": "celsius"}},
            ]
        )
    ),
    "hedge_across_shapes": {
        **openai("get_weather", RIGHT),
        "content": [{"toolUse": {"toolUseId": "t", "name": "get_weather", "input": {"city": "Lyon"}}}],
    },
    "all_tools": text(
        json.dumps(
            [{"name": "get_weather", "arguments": RIGHT}, {"name": "book_table", "arguments": {"people": 2}}]
        )
    ),
    "invented_argument": openai("get_weather", {**RIGHT, "confirm": True}),
    "undeclared_tool": text(json.dumps([{"name": "get_weather_v2", "arguments": RIGHT}])),
    "extra_call": text(json.dumps([{"name": "get_weather", "arguments": RIGHT}] * 2)),
    "string_number": openai("get_weather", {**RIGHT, "days": "1"}),
    "wrong_tool": openai("book_table", {"people": 2}),
    "no_call": text("It is probably sunny in Paris."),
    "prose_call": text('I would call get_weather with {"city": "Paris", "units": "celsius"}.'),
    "optional_argument_not_default": openai("get_weather", {**RIGHT, "days": 3}),
    "enum_case_changed": openai("get_weather", {"city": "Paris", "units": "Celsius"}),
}


@pytest.mark.parametrize("partial", [False, True])
def test_every_attack_scores_at_most_an_honest_wrong_call(partial):
    spec = spec_with(partial_credit=partial)
    names = sorted(ATTACKS)
    got = scores([element(HONEST_WRONG), *(element(ATTACKS[n]) for n in names)], spec)
    honest, rest = got[0], dict(zip(names, got[1:]))
    above = {n: s for n, s in rest.items() if s > honest}
    assert not above, (honest, above)
    assert honest < 1.0 and (honest > -1.0) == partial  # partial credit pays a part, always below full


def test_no_call_expected():
    for reference in ({"tool_calls": []}, {"tool_called": None}):
        right, wrong, empty = scores(
            [
                element(text("I can't book that, sorry."), reference),
                element(openai("get_weather", RIGHT), reference),
                element(text(" "), reference),
            ]
        )
        assert (right, wrong, empty) == (1.0, -1.0, -1.0)


def test_two_expected_calls_are_matched_in_any_order_unless_ordered():
    reference = {
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Oslo"}},
            {"name": "book_table", "arguments": {"people": 4}},
        ]
    }
    swapped = text(
        json.dumps(
            [
                {"name": "book_table", "arguments": {"people": 4}},
                {"name": "get_weather", "arguments": {"city": "oslo"}},
            ]
        )
    )
    one = text(json.dumps([{"name": "get_weather", "arguments": {"city": "Oslo"}}]))
    assert scores([element(swapped, reference), element(one, reference)]) == [1.0, -1.0]
    assert scores([element(swapped, reference)], spec_with(ordered=True)) == [-1.0]


def test_coercion_only_when_asked():
    reference = {"tool_calls": [{"name": "book_table", "arguments": {"people": 4, "vegan": True}}]}
    stringly = openai("book_table", {"people": "4", "vegan": "true"})
    assert scores([element(stringly, reference)]) == [-1.0]
    assert scores([element(stringly, reference)], spec_with(coerce=True)) == [1.0]
    assert scores([element(openai("book_table", {"people": 4.0, "vegan": True}), reference)]) == [1.0]


def test_values_equal_rules():
    assert values_equal(5, 5.0) and not values_equal(True, 1) and not values_equal("5", 5)
    assert values_equal(" Paris ", "paris") and not values_equal("Paris", "paris", exact_strings=True)
    assert not values_equal("Paris", "paris", {"enum": ["paris", "Paris"]})
    assert values_equal(["b", "a"], ["a", "b"], {"uniqueItems": True}) and not values_equal(
        ["b", "a"], ["a", "b"]
    )
    assert values_equal({"a": 1, "d": 0}, {"a": 1}, {"properties": {"d": {"default": 0}}})
    assert not values_equal({"a": 1, "x": 2}, {"a": 1})


def test_best_assignment_is_optimal():
    assert best_assignment([[1, 0], [0, 1]]) == [(0, 0), (1, 1)]
    assert best_assignment([[5, 4], [5, 0]]) == [(0, 1), (1, 0)]  # greedy would take (0, 0) and lose
    assert len(best_assignment([[1, 2, 3]])) == 1 and best_assignment([[1, 2, 3]]) == [(0, 2)]


def test_parameters_are_validated_with_a_did_you_mean():
    with pytest.raises(SpecError, match="did you mean 'partial_credit'"):
        parse_spec(
            {"dimensions": [{"name": "t", "grader": "tool_call", "params": {"partial_credits": True}}]}
        )
    with pytest.raises(ParamError):
        ToolCallGrader.from_params({"partial_max": 1.0})


def test_a_reference_without_calls_is_no_reference_not_a_wrong_answer():
    reply = grade_event(load_spec(SPEC), [element(CORRECT_SHAPES["openai"], {"final_answer": "4"})])
    assert any(m["name"] == "tool_call.status.no_reference" for m in reply[0]["metrics_list"])


# --------------------------------------------------------------------------------------------------
# Dataset rules.


def record(tools: Any = TOOLS, reference: Any = None, **extra: Any) -> str:
    row = {
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "reference_answer": reference if reference is not None else REFERENCE,
        **({"tools": tools} if tools is not None else {}),
        **extra,
    }
    return json.dumps(row)


def codes(lines: list[str]) -> list[tuple[int, str, str]]:
    report = validate_dataset_lines(lines, min_rows=1)
    return [(f.line, f.code, f.message) for f in report.errors]


def _without(tool: dict, key: str) -> dict:
    return {**tool, "function": {k: v for k, v in tool["function"].items() if k != key}}


@pytest.mark.parametrize(
    ("tools", "reference", "code", "names"),
    [
        ([_without(WEATHER, "description"), BOOK], None, "tool-definition", "get_weather"),
        ([{**WEATHER, "type": "tool"}, BOOK], None, "tool-definition", "type"),
        (
            [{**WEATHER, "function": {**WEATHER["function"], "parameters": {"type": "array"}}}],
            None,
            "tool-schema",
            "get_weather",
        ),
        (
            [
                {
                    **WEATHER,
                    "function": {
                        **WEATHER["function"],
                        "parameters": {"type": "object", "properties": {"x": {"type": "strin"}}},
                    },
                }
            ],
            {"tool_calls": []},
            "tool-schema",
            "not valid JSON Schema",
        ),
        ([WEATHER, WEATHER], None, "duplicate-tool-name", "get_weather"),
        ([], None, "tools-not-list", "non-empty"),
        (TOOLS, {"tool_called": "get_time", "tool_parameters": {}}, "expected-tool-undeclared", "get_time"),
        (TOOLS, {"tool_called": "get_weather", "tool_parameters": {"city": 5}}, "expected-arguments", "city"),
        (
            TOOLS,
            {"tool_called": "get_weather", "tool_parameters": {"town": "Paris", "city": "x"}},
            "expected-arguments",
            "town",
        ),
        (TOOLS, {"tool_calls": "get_weather"}, "expected-call", "not a list"),
        (
            None,
            {"tool_called": "get_weather", "tool_parameters": RIGHT},
            "expected-tool-undeclared",
            "no `tools`",
        ),
    ],
)
def test_malformed_tool_records_are_flagged_naming_the_tool_and_argument(tools, reference, code, names):
    found = codes([record(tools, reference)])
    assert any(c == code and names in message and line == 1 for line, c, message in found), found


def test_tools_in_all_records_or_none():
    found = codes([record(), record(None, {"final_answer": "4"}), record()])
    assert [(line, c) for line, c, _ in found] == [(2, "tools-in-some-records")]


def test_a_valid_tool_record_and_a_tool_call_turn_pass():
    assert codes([record(), record(reference={"tool_calls": []})]) == []
    turn = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ],
    }
    row = json.loads(record())
    row["messages"].append(turn)
    found = {c for _, c, _ in codes([json.dumps(row)])}
    assert "non-text-content" not in found and "ends-with-assistant" in found


# --------------------------------------------------------------------------------------------------
# The shipped spec and data, and the probe families.


def rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_the_shipped_data_is_reproducible_and_shaped_as_documented(tmp_path):
    from rft.cli import main

    assert main(["validate-data", str(DATA / "train.jsonl")], out=io.StringIO(), err=io.StringIO()) == 0
    import runpy

    module = runpy.run_path(str(DATA / "generate.py"))
    built = module["build"]()
    for name in ("train.jsonl", "validation.jsonl"):
        assert [json.dumps(r, ensure_ascii=False) for r in built[name]] == (DATA / name).read_text(
            encoding="utf-8"
        ).splitlines()
    train = rows("train.jsonl")
    assert len(train) >= 100 and len(rows("validation.jsonl")) >= 100
    counts = [len(r["reference_answer"]["tool_calls"]) for r in train]
    assert 0.10 <= counts.count(0) / len(counts) <= 0.20 and counts.count(2) >= 3
    assert 4 <= len(train[0]["tools"]) <= 8


def test_the_positive_control_scores_the_top_on_every_row():
    from reward.controls import positive_control

    spec = load_spec(SPEC)
    for name in ("train.jsonl", "validation.jsonl"):
        data = rows(name)
        elements = [
            {
                "id": str(i),
                "messages": [
                    *r["messages"],
                    {
                        "role": "assistant",
                        "content": positive_control(spec.control_template, r["reference_answer"]),
                    },
                ],
                "metadata": {k: v for k, v in r.items() if k != "messages"},
            }
            for i, r in enumerate(data)
        ]
        assert {e["aggregate_reward_score"] for e in grade_event(spec, elements)} == {1.0}


@pytest.mark.parametrize("partial", [False, True])
def test_every_probe_family_scores_at_most_the_honest_wrong_call_on_every_row(partial):
    spec_text = spec_with(partial_credit=partial)
    elements, index = [], []
    for i, r in enumerate(rows("validation.jsonl")):
        built, _ = attacks_tools.build(r)
        metadata = {k: v for k, v in r.items() if k != "messages"}
        for family, variant, response in built:
            elements.append(
                {
                    "id": f"{i}:{family}:{variant}",
                    "messages": [*r["messages"], {"role": "assistant", "content": response}],
                    "metadata": metadata,
                }
            )
            index.append((i, family))
    got = scores(elements, spec_text)
    honest = {i: s for (i, family), s in zip(index, got) if family == "honest_wrong"}
    families = {family for _, family in index}
    assert families == set(attacks_tools.FAMILIES)
    above = [(i, f, s) for (i, f), s in zip(index, got) if f != "honest_wrong" and s > honest.get(i, -1.0)]
    assert not above, above[:10]


def test_the_batch_log_counts_the_shapes_read(capfd):
    """The first real job's log says which shape Bedrock sends (AWS does not document it)."""
    import logging

    from reward import telemetry

    level = telemetry.logger.level
    telemetry.logger.setLevel(logging.INFO)
    try:
        grade_event(load_spec(SPEC), [element(CORRECT_SHAPES["openai"]), element(CORRECT_SHAPES["converse"])])
    finally:
        telemetry.logger.setLevel(level)
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if '"batch graded"' in x]
    assert lines and lines[-1]["tool_call_shapes"] == {"converse": 1, "openai": 1}


def test_the_preflight_controls_of_every_shipped_row_score_below_its_reference():
    """The job starter's preflight (reward.controls) must pass on any rows of the shipped data."""
    from reward.controls import negative_controls, positive_control

    spec = load_spec(SPEC)
    data = rows("validation.jsonl")
    elements, names = [], []
    for i, r in enumerate(data):
        metadata = {k: v for k, v in r.items() if k != "messages"}
        reference = r["reference_answer"]
        answers = {"positive": positive_control(spec.control_template, reference)}
        answers.update(negative_controls(spec.control_template, reference))
        for name, answer in answers.items():
            elements.append(
                {
                    "id": f"{i}:{name}",
                    "messages": [*r["messages"], {"role": "assistant", "content": answer}],
                    "metadata": metadata,
                }
            )
            names.append((i, name))
    got = dict(zip(names, scores(elements)))
    bad = [(i, n, s) for (i, n), s in got.items() if n != "positive" and s >= got[(i, "positive")]]
    assert not bad, bad[:5]
