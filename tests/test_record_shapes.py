"""One table of record shapes feeds all four readers of a dataset — the validator (`rft validate-data`),
the synth-time check (`cdk synth`), the reward Lambda and `rft score` — and they must agree: AWS's own
example records (with a dataset `id`) pass with no finding, text parts pass with a warning, non-text parts
and bad ids are errors. Where a shape passes, the Lambda grades its reference +1 and echoes the *service's*
sample id, never the dataset's (which reaches it in `metadata`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from app import cdk_json_context
from reward.dataset import validate_dataset_lines
from reward.grading import grade_event
from reward.spec import load_spec
from rft.cli import main
from stacks.config import PROJECT_ROOT, ConfigError, load_config

GSM8K = PROJECT_ROOT / "reward_specs" / "gsm8k.toml"


def record(i: int) -> dict[str, Any]:
    """AWS's example shape (Bedrock's Nova RFT page): an `id`, system + user messages, a reference."""
    return {
        "id": f"sample-{i:03d}",
        "messages": [
            {"role": "system", "content": "You are a helpful math tutor."},
            {"role": "user", "content": f"What is 12 * {i}? End with #### <answer>."},
        ],
        "reference_answer": {"final_answer": str(12 * i)},
    }


def as_parts(text: str, converse: bool = False) -> list[dict[str, str]]:
    head, tail = text[: len(text) // 2], text[len(text) // 2 :]
    return (
        [{"text": head}, {"text": tail}]
        if converse
        else [{"type": "text", "text": head}, {"type": "text", "text": tail}]
    )


def with_user_content(r: dict[str, Any], content: Any) -> dict[str, Any]:
    r["messages"][1]["content"] = content
    return r


def drop_id(r: dict[str, Any]) -> dict[str, Any]:
    r.pop("id")
    return r


# name -> (records, verdict: "ok" | "warn:<code>" | "error:<code>")
SHAPES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "aws_example_with_id": ([record(i) for i in range(100)], "ok"),
    "no_id_at_all": ([drop_id(record(i)) for i in range(100)], "ok"),
    "text_parts": (
        [with_user_content(record(i), as_parts(record(i)["messages"][1]["content"])) for i in range(100)],
        "warn:content-parts",
    ),
    "converse_text_parts": (
        [
            with_user_content(record(i), as_parts(record(i)["messages"][1]["content"], True))
            for i in range(100)
        ],
        "warn:content-parts",
    ),
    "image_part": (
        [
            with_user_content(
                record(i), [{"type": "text", "text": "What is shown?"}, {"image": {"format": "png"}}]
            )
            if i == 4
            else record(i)
            for i in range(100)
        ],
        "error:non-text-content",
    ),
    "duplicate_id": (
        [{**record(i), "id": "sample-007" if i == 9 else f"sample-{i:03d}"} for i in range(100)],
        "error:duplicate-id",
    ),
    "id_in_some_records": (
        [drop_id(record(i)) if i in (3, 5) else record(i) for i in range(100)],
        "error:id-in-some-records",
    ),
    "id_not_a_string": (
        [{**record(i), "id": i} if i == 2 else record(i) for i in range(100)],
        "error:id-not-string",
    ),
}


def write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SHAPES[name][0]), encoding="utf-8")
    return path


def codes(verdict: str) -> tuple[bool, set[str], set[str]]:
    kind, _, code = verdict.partition(":")
    return kind != "error", {code} if kind == "error" else set(), {code} if kind == "warn" else set()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_validator_and_rft_validate_data_agree_with_the_table(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name)
    ok, errors, warnings = codes(SHAPES[name][1])
    report = validate_dataset_lines(path.read_bytes().splitlines(keepends=True))
    assert (report.ok, {f.code for f in report.errors}, {f.code for f in report.warnings}) == (
        ok,
        errors,
        warnings,
    )
    out = io.StringIO()
    status = main(["validate-data", "--json", "--role", "training", str(path)], out=out, err=io.StringIO())
    cli = json.loads(out.getvalue())
    assert (status == 0, {e["code"] for e in cli["errors"]}) == (ok, errors)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_synth_agrees_with_the_table(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name)
    ok, _, warnings = codes(SHAPES[name][1])
    context = {**cdk_json_context(), "training_data": str(path), "reward_spec": str(GSM8K)}
    try:
        config = load_config(cdk.App(context=context).node)
    except ConfigError as error:
        assert not ok, error.problems
        assert any("Invalid dataset for 'training_data'" in p for p in error.problems)
        return
    assert ok
    assert len([w for w in config.warnings if w.key == "training_data"]) == len(warnings)


@pytest.mark.parametrize("name", [n for n, (_, v) in SHAPES.items() if not v.startswith("error")])
def test_the_lambda_grades_every_accepted_shape_and_echoes_the_service_id(name: str) -> None:
    spec = load_spec(GSM8K)
    records = SHAPES[name][0][:5]
    event = [
        {
            "id": f"svc-{k}",  # the service's own sample id
            "messages": [
                *r["messages"],
                {"role": "assistant", "content": f"#### {r['reference_answer']['final_answer']}"},
            ],
            "metadata": {key: value for key, value in r.items() if key != "messages"},  # the dataset id here
        }
        for k, r in enumerate(records)
    ]
    reply = grade_event(spec, event)
    assert [e["id"] for e in reply] == [f"svc-{k}" for k in range(5)]
    assert [e["aggregate_reward_score"] for e in reply] == [1.0] * 5


@pytest.mark.parametrize("name", [n for n, (_, v) in SHAPES.items() if not v.startswith("error")])
def test_rft_score_grades_every_accepted_shape_at_the_top(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name)
    out = io.StringIO()
    status = main(
        ["score", "--spec", str(GSM8K), "--data", str(path), "--limit", "10"], out=out, err=io.StringIO()
    )
    assert status == 0, out.getvalue()
    assert "+1.000" in out.getvalue()
