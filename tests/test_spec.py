"""Reward specs are validated at load time with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reward.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


GOOD = """
name = "t"
[[dimensions]]
name = "correctness"
grader = "numeric"
weight = 0.8
[[dimensions]]
name = "format"
grader = "format"
weight = 0.2
gate = "correctness"
"""


def test_shipped_gsm8k_spec_loads():
    spec = load_spec(ROOT / "reward_specs/gsm8k.toml")
    assert [d.name for d in spec.dimensions][:2] == ["correctness", "format"]
    assert spec.dimensions[1].gate == "correctness"
    assert len(spec.sha256) == 64 and spec.control_template


def test_a_good_spec_loads(tmp_path):
    assert load_spec(write(tmp_path, GOOD)).graders_used == {"numeric", "format"}


@pytest.mark.parametrize(
    "text,needle",
    [
        ("name = 1\n" + GOOD.replace('name = "t"', ""), "name"),
        (GOOD.replace('grader = "numeric"', 'grader = "numerc"'), "did you mean 'numeric'"),
        (GOOD.replace("weight = 0.8", "weight = -1"), "weight"),
        (GOOD.replace("weight = 0.8", "weight = 0").replace("weight = 0.2", "weight = 0"), "sum to 0"),
        (GOOD.replace('gate = "correctness"', 'gate = "nope"'), "gate"),
        (GOOD.replace('gate = "correctness"', 'gate = "format"'), "gate"),
        (GOOD + "[dimensions.params]\ntolerance = 1\n", "params.tolerance"),
        (GOOD + "[dimensions.params]\nonce = 3\n", "params.once"),
        (GOOD.replace('name = "t"', 'on_error = "ignore"'), "on_error"),
        (GOOD.replace('name = "t"', "wieght = 1"), "unknown key 'wieght'"),
        ("[[dimensions]]\nname = 'a b'\ngrader = 'numeric'\n", "name"),
        ("name = 'x'\n", "at least one [[dimensions]]"),
        ("this is = not toml =", "invalid TOML"),
    ],
)
def test_bad_specs_fail_naming_the_field(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_gate_cycles_are_rejected(tmp_path):
    text = GOOD.replace("weight = 0.8", 'weight = 0.8\ngate = "format"')
    with pytest.raises(SpecError, match="cycle"):
        load_spec(write(tmp_path, text))


def test_missing_spec_file_says_so(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "missing.toml")
