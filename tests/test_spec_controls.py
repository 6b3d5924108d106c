"""Spec mistakes caught when the spec meets the data: control_template placeholders that name no field
(``rft score``, ``rft probe``, synth), a positive control that misses the top (``rft score`` exits 1 with
the reasons), and each dimension's reason in ``scores.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reward.controls import check_template, template_fields
from rft.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLASSIFY_TRAIN = ROOT / "data" / "classify" / "train.jsonl"


def typo_spec(tmp_path: Path, template: str = "{reason}\\nCategory: {categroy}") -> Path:
    text = (ROOT / "reward_specs" / "classify.toml").read_text(encoding="utf-8")
    spec = tmp_path / "typo.toml"
    spec.write_text(
        text.replace(
            'control_template = "{reason}\\nCategory: {category}"', f'control_template = "{template}"'
        ),
        encoding="utf-8",
    )
    assert "{categroy}" in spec.read_text() or template != "{reason}\\nCategory: {categroy}"
    return spec


def test_template_fields_skip_latex_groups() -> None:
    template = r"Work.\n\nThe final answer is $\boxed{{final_answer}}$ \text{cm} \frac{a}{b} x^{n} {reason}"
    assert template_fields(template) == ["final_answer", "reason"]


def test_check_template_names_the_placeholder_the_fields_and_a_suggestion() -> None:
    message = check_template("{reason}\nCategory: {categroy}", [{"category": "billing", "reason": "r"}])
    assert message is not None
    assert "{categroy}" in message and "category, reason" in message and "did you mean {category}?" in message
    assert check_template("#### {final_answer}", [{"final_answer": "1"}]) is None
    assert check_template("{reference}", ["a string"]) is None
    assert "objects" in (check_template("#### {final_answer}", ["18"]) or "")


@pytest.mark.parametrize("command", ["score", "probe"])
def test_a_misspelled_placeholder_stops_score_and_probe_with_one_line(command, tmp_path, capsys) -> None:
    spec = typo_spec(tmp_path)
    code = main([command, "--spec", str(spec), "--data", str(CLASSIFY_TRAIN), "--limit", "5"])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err
    assert "{categroy}" in lines[0] and "did you mean {category}?" in lines[0] and str(spec) in lines[0]


def test_a_misspelled_placeholder_fails_synth(tmp_path) -> None:
    import aws_cdk as cdk

    from app import cdk_json_context
    from stacks.config import ConfigError, load_config

    spec = typo_spec(tmp_path)
    context = {
        **cdk_json_context(),
        "reward_spec": str(spec),
        "training_data": str(CLASSIFY_TRAIN),
        "validation_data": str(ROOT / "data" / "classify" / "validation.jsonl"),
    }
    with pytest.raises(ConfigError, match=r"\{categroy\}.*did you mean \{category\}"):
        load_config(cdk.App(context=context).node)
    context["reward_spec"] = str(ROOT / "reward_specs" / "classify.toml")
    assert load_config(cdk.App(context=context).node).reward_spec.name == "classify.toml"


def test_a_control_below_the_top_is_reported_loudly_with_the_reasons(tmp_path, capsys) -> None:
    """A template that declares the wrong field: every control is unscorable; rft score exits 1."""
    spec = typo_spec(tmp_path, "{reason}\\nCategory: {reason}")
    code = main(
        ["score", "--spec", str(spec), "--data", str(CLASSIFY_TRAIN), "--limit", "20", "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "below the top (+1.000) on 20 of 20 rows" in err
    assert "most common reasons" in err and "label [ok]:" in err
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert all(
        "names several labels" in s["reasons"]["label"] or "not one of" in s["reasons"]["label"]
        for s in scores
    )


def test_a_few_rows_below_the_top_are_tolerated(tmp_path, capsys) -> None:
    lines = CLASSIFY_TRAIN.read_text(encoding="utf-8").splitlines()[:30]
    broken = json.loads(lines[0])
    broken["reference_answer"]["reason"] = "Category: shipping"  # the control now declares two labels
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([json.dumps(broken), *lines[1:]]) + "\n", encoding="utf-8")
    spec = ROOT / "reward_specs" / "classify.toml"
    assert main(["score", "--spec", str(spec), "--data", str(data), "--out", str(tmp_path)]) == 0
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert "declarations disagree" in scores[0]["reasons"]["label"]
    assert scores[1]["reasons"] == {"label": "", "format": "", "conciseness": ""}
