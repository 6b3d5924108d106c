"""The customer-support sample (data/support + reward_specs/support_rubric.toml): reproducible, valid,
consistent with its own policies, and deployable (the app synthesizes with it, cdk-nag included)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reward.dataset import validate_dataset_file
from reward.spec import load_spec
from stacks.config import PROJECT_ROOT
from tests.conftest import Apps, SynthesizedApp

SUPPORT = PROJECT_ROOT / "data" / "support"
SPEC = PROJECT_ROOT / "reward_specs" / "support_rubric.toml"
FILES = ("train.jsonl", "validation.jsonl")


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    """data/support/generate.py, imported by path (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("support_generate", SUPPORT / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def read(name: str) -> list[dict[str, Any]]:
    return [json.loads(text) for text in (SUPPORT / name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", FILES)
def test_committed_files_validate_with_no_errors_and_no_warnings(name: str) -> None:
    report = validate_dataset_file(SUPPORT / name, min_rows=1)
    assert report.errors == () and report.warnings == (), report


def test_row_counts_meet_the_rft_minimum() -> None:
    assert len(read("train.jsonl")) == 160 >= 100
    assert len(read("validation.jsonl")) == 40


def test_generator_rewrites_both_files_byte_identically(generate: ModuleType, tmp_path: Path) -> None:
    assert generate.main(["--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SUPPORT / name).read_bytes(), f"{name} is stale"


def test_check_mode_flags_a_stale_file(generate: ModuleType, tmp_path: Path) -> None:
    generate.main(["--out", str(tmp_path)])
    assert generate.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "validation.jsonl").write_text("{}\n")
    assert generate.main(["--out", str(tmp_path), "--check"]) == 1


def test_rows_are_unique_and_cover_every_category() -> None:
    rows = read("train.jsonl") + read("validation.jsonl")
    prompts = [r["messages"][-1]["content"] for r in rows]
    assert len(set(prompts)) == len(prompts)
    assert len({r["task_id"] for r in rows}) == len(rows)
    assert {r["category"] for r in read("train.jsonl")} == {
        "returns", "warranty", "shipping", "orders", "billing", "account", "safety"
    }  # fmt: skip


def test_references_are_signed_replies_with_facts() -> None:
    """What the judge reads: an ideal reply addressed to the customer, and the facts it must get right."""
    for row in read("train.jsonl") + read("validation.jsonl"):
        reference = row["reference_answer"]
        assert set(reference) == {"answer", "facts", "policy"}
        name = row["messages"][-1]["content"].split("\n", 1)[0].removeprefix("From: ")
        assert reference["answer"].startswith(f"Hi {name},\n\n")
        assert reference["answer"].endswith("\n\nVoltline Support")
        assert reference["facts"] and all(isinstance(f, str) and f for f in reference["facts"])
        assert f"\n{reference['policy']}:" in row["messages"][0]["content"]


def test_refund_amounts_follow_the_return_policy() -> None:
    """Computed, not typed: price - $7.95 label - 15% restocking fee on an opened laptop or camera."""
    checked = 0
    for row in read("train.jsonl"):
        message = row["messages"][-1]["content"]
        found = re.search(
            r"bought an? (.+?) \(VL-\d+\) for \$([\d,.]+) and it was delivered (\d+) days", message
        )
        if not found:
            continue
        product, price, days = found[1], float(found[2].replace(",", "")), int(found[3])
        answer = row["reference_answer"]["answer"]
        if days > 30:
            assert "can't accept it as a return" in answer
            continue
        fee = (
            0.15 * price
            if "opened and tried" in message and product in ("laptop", "mirrorless camera", "drone")
            else 0
        )
        assert f"you'll get back ${price - 7.95 - fee:,.2f}" in answer, (message, answer)
        checked += 1
    assert checked >= 5


def test_the_spec_loads_and_uses_the_judge() -> None:
    spec = load_spec(SPEC)
    assert spec.graders_used == {"judge", "length"}
    dims = {d.name: d for d in spec.dimensions}
    assert dims["conciseness"].gate == "quality" and dims["safety"].veto


@pytest.fixture(scope="module")
def app(apps: Apps) -> SynthesizedApp:
    """The support spec and data (the `judge` variant)."""
    return apps["judge"]


@pytest.mark.slow
def test_the_app_synthesizes_with_the_support_spec_and_data(app: SynthesizedApp) -> None:
    """`cdk synth -c reward_spec=... -c training_data=... -c validation_data=...` (cdk-nag runs: no finding)."""
    assert app.built.reward.spec.name == "support_rubric"
    function = app.only("reward", "AWS::Lambda::Function")[1]["Properties"]
    assert function["Environment"]["Variables"]["REWARD_SPEC"] == "specs/support_rubric.toml"
    assert app.built.config.training_data == SUPPORT / "train.jsonl"
    assert app.built.config.validation_data == SUPPORT / "validation.jsonl"
