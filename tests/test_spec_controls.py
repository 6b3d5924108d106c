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
    assert f'control_template = "{template}"' in spec.read_text()  # the replacement happened
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


# --- a spec/data pair the spec cannot grade: refused everywhere, by one function -----------------------

GSM8K = ROOT / "reward_specs" / "gsm8k.toml"
GSM8K_TRAIN = ROOT / "data" / "sample" / "train.jsonl"


def words_data(tmp_path: Path, rows: int = 120, in_words: int = 120) -> Path:
    """gsm8k rows whose first ``in_words`` references are written in words (no number to compare)."""
    lines = GSM8K_TRAIN.read_text(encoding="utf-8").splitlines()[:rows]
    out = []
    for i, line in enumerate(lines):
        row = json.loads(line)
        if i < in_words:
            row["reference_answer"] = {"final_answer": "forty two"}
        out.append(json.dumps(row))
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_check_gradable_counts_the_rows_and_names_the_first():
    from reward.controls import check_gradable
    from reward.spec import load_spec

    rows = [json.loads(line) for line in GSM8K_TRAIN.read_text().splitlines()[:50]]
    spec = load_spec(GSM8K)
    assert check_gradable(spec, rows).problem() is None
    rows[3] = {**rows[3], "reference_answer": {"final_answer": "forty two"}}
    one = check_gradable(spec, rows)
    assert one.ungradable[0][:2] == (3, "correctness") and one.rate == 0.02
    assert one.problem() == (
        "the spec cannot grade the reference answer on 1 of 50 rows (over 1%); first: row 4, dimension "
        "'correctness': no_reference: reference_answer has no single number under 'final_answer'"
    )
    assert check_gradable(spec, rows * 2).problem() is not None  # 2 of 100 is over 1%
    assert check_gradable(spec, rows * 2 + rows[:1] * 100).problem() is None  # 2 of 200 is not


def test_check_gradable_never_calls_a_judge_or_runs_a_program(monkeypatch):
    """A judge dimension checks its inputs only; a code dimension reads its task and the control's program."""
    from reward.controls import check_gradable
    from reward.graders.code import CodeGrader
    from reward.graders.judge import JudgeGrader
    from reward.spec import load_spec

    def refuse(*args, **kwargs):
        raise AssertionError("check_gradable must not call Bedrock nor run the sandbox")

    for grader in (CodeGrader, JudgeGrader):
        monkeypatch.setattr(grader, "grade_many", refuse)
        monkeypatch.setattr(grader, "grade", refuse)
    for name, data in (("code", "code"), ("support_rubric", "support")):
        spec = load_spec(ROOT / "reward_specs" / f"{name}.toml")
        rows = [json.loads(line) for line in (ROOT / "data" / data / "train.jsonl").read_text().splitlines()]
        assert check_gradable(spec, rows).ungradable == ()
        broken = [{**row, "reference_answer": {"solution": "pass"}} for row in rows[:5]]
        if name == "code":
            found = check_gradable(spec, broken)
            assert len(found.ungradable) == 5 and "no code task in the reference" in found.ungradable[0][2]
        else:
            found = check_gradable(spec, [{**row, "reference_answer": ""} for row in rows[:5]])
            assert len(found.ungradable) == 5 and "no_reference" in found.ungradable[0][2]


def test_validate_data_with_spec_refuses_an_ungradable_pair(tmp_path, capsys):
    data = words_data(tmp_path)
    code = main(["validate-data", "--spec", str(GSM8K), str(data)])
    captured = capsys.readouterr()
    assert code == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert f"cannot grade the reference answer on 120 of 120 rows (over 1%); first: {data}:1," in lines[0]


def test_score_refuses_an_ungradable_pair(tmp_path, capsys):
    code = main(["score", "--spec", str(GSM8K), "--data", str(words_data(tmp_path))])
    assert code == 2 and "cannot grade the reference answer on 120 of 120 rows" in capsys.readouterr().err


def test_synth_refuses_an_ungradable_pair(tmp_path):
    import aws_cdk as cdk

    from app import cdk_json_context
    from stacks.config import ConfigError, load_config

    data = words_data(tmp_path)
    context = {**cdk_json_context(), "reward_spec": str(GSM8K), "training_data": str(data)}
    with pytest.raises(ConfigError) as caught:
        load_config(cdk.App(context=context).node)
    message = str(caught.value)
    assert "cannot grade the reference answer on 120 of 120 rows (over 1%); first: line 1" in message
    assert "'training_data'" in message
    ok = {
        **cdk_json_context(),
        "reward_spec": str(GSM8K),
        "training_data": str(words_data(tmp_path, in_words=1)),
    }
    load_config(cdk.App(context=ok).node)  # 1 of 120 rows (0.8%) is under the bar
