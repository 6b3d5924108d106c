"""`rft probe`: every shipped spec resists every attack family; a naive spec is caught."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from reward.spec import load_spec
from rft import attacks, attacks_code, attacks_tools
from rft.cli import main
from tests.bedrock_emulator import Script, bedrock_emulator

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "reward_specs").glob("*.toml"))
NAIVE = ROOT / "tests" / "fixtures" / "naive_spec.toml"
GSM8K_TRAIN = ROOT / "data" / "sample" / "train.jsonl"
#: Rows probed per spec: every row, except where a heavy (worker-process) grader or a judge makes it slow.
LIMITS = {"math": 40, "support_rubric": 20}
#: Specs whose dataset folder is not named after the spec.
DATA_DIRS = {"gsm8k": "sample", "support_rubric": "support"}


def dataset_for(spec: Path) -> Path:
    """The dataset a shipped spec is made for: data/<DATA_DIRS or spec name>/train.jsonl."""
    return ROOT / "data" / DATA_DIRS.get(spec.stem, spec.stem) / "train.jsonl"


def judge_for(spec: Path) -> contextlib.AbstractContextManager:
    """A judge spec is probed against the emulator's gullible judge (it obeys any instruction it can see
    outside the nonce fences), so only the pre-checks and the fencing keep injections from winning."""
    if not load_spec(spec).uses_judge:
        return contextlib.nullcontext()
    return bedrock_emulator(Script(judge="gullible"))


@pytest.fixture(autouse=True)
def _restore_reward_spec(monkeypatch):
    monkeypatch.delenv("REWARD_SPEC", raising=False)


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_no_attack_family_beats_a_shipped_spec(spec, capsys):
    data = dataset_for(spec)
    assert data.is_file(), f"{spec.name} ships without its dataset {data.relative_to(ROOT)}"
    argv = ["probe", "--spec", str(spec), "--data", str(data)]
    if spec.stem in LIMITS:
        argv += ["--limit", str(LIMITS[spec.stem])]
    with judge_for(spec):
        code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "OK: no attack family reaches the reference answer's score" in out


def test_a_naive_spec_fails_and_the_winning_families_are_named(capsys, tmp_path):
    code = main(
        ["probe", "--spec", str(NAIVE), "--data", str(GSM8K_TRAIN), "--limit", "50", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 1
    verdicts = {
        line.split()[0]: line.split()[-1]
        for line in out.splitlines()
        if line.split() and line.split()[-1] in ("ok", "FAIL")
    }
    # last number anywhere: hedging "18 or 17" -> "17 or 18" and look-alike digits read as the answer;
    # an ungated length bonus: filler beats a concise right answer
    assert {f for f, v in verdicts.items() if v == "FAIL"} == {"hedged", "padding", "lookalike_digits"}
    assert "FAIL: 3 attack families score at or above the reference answer" in out
    assert "hedged (100%), padding (100%), lookalike_digits (100%)" in out
    assert verdicts["empty"] == verdicts["wrong_answer"] == "ok"

    records = [json.loads(line) for line in (tmp_path / "probe.jsonl").read_text().splitlines()]
    assert {r["family"] for r in records} >= set(attacks.FAMILIES) - {"all_options"} - set(
        attacks_code.FAMILIES
    ) - set(attacks_tools.FAMILIES)
    assert any(r["family"] == "padding" and r["wins"] for r in records)
    assert (tmp_path / "probe.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_threshold_decides(capsys):
    args = ["probe", "--spec", str(NAIVE), "--data", str(GSM8K_TRAIN), "--limit", "20"]
    assert main([*args, "--threshold", "0.99"]) == 1  # 100% > 99%
    assert main([*args, "--threshold", "1.5"]) == 2  # not a rate
    capsys.readouterr()


def test_families_that_do_not_apply_are_skipped_with_the_reason():
    row = {"messages": [{"role": "user", "content": "Capital of France?"}], "reference_answer": "Paris"}
    built = attacks.build(row, "", distractor="Lyon")
    families = {a.family for a in built.attacks}
    assert built.control == "Paris"
    assert built.skipped == {
        "all_options": "the reference is not a multiple-choice letter or one of the spec's labels",
        "lookalike_digits": "the answer has no digits",
        **dict.fromkeys(attacks_code.FAMILIES, "not a code task"),
        **dict.fromkeys(attacks_tools.FAMILIES, "not a tool-call row"),
    }
    assert families == set(attacks.FAMILIES) - set(built.skipped)
    hedges = {a.response for a in built.attacks if a.family == "hedged"}
    assert hedges == {"Paris or Lyon", "Lyon or Paris", "Paris, Lyon"}


def test_choice_references_get_every_option_at_once():
    row = {
        "messages": [{"role": "user", "content": "Which is a prime? A) 4 B) 5 C) 6 D) 8"}],
        "reference_answer": {"answer": "B"},
    }
    built = attacks.build(row, "The answer is {answer}.")
    options = {a.variant: a.response for a in built.attacks if a.family == "all_options"}
    assert options["A, B, C, D"] == "The answer is A, B, C, D."
    assert {a.response for a in built.attacks if a.family == "wrong_answer"} == {"The answer is A."}


def test_numeric_references_get_hedges_lookalikes_and_contradictions():
    row = {"messages": [{"role": "user", "content": "10 + 8?"}], "reference_answer": {"final_answer": "18"}}
    built = attacks.build(row, "Work.\n#### {final_answer}")
    by_family: dict[str, set[str]] = {}
    for attack in built.attacks:
        by_family.setdefault(attack.family, set()).add(attack.response)
    assert "Work.\n#### 18 or 19" in by_family["hedged"]
    assert "Work.\n#### １８" in by_family["lookalike_digits"]
    assert "Work.\n#### ١٨" in by_family["lookalike_digits"]
    assert "Work.\n#### 18\n\nWork.\n#### 19" in by_family["contradiction"]
    assert by_family["scaffold"] == {"Work.\n#### ", "Work.\n#### <answer>"}
    assert by_family["truncated"] == {"Work.\n####"[: len("Work.\n#### 18") // 2]}
    assert all(len(text) < 100_000 for text in by_family["padding"])


def test_object_references_are_attacked_as_a_whole():
    reference = {"compliant": "No", "explanation": "It promises a 22% return (R1)."}
    other = {"compliant": "Yes", "explanation": "Nothing in it breaks a rule."}
    row = {"messages": [{"role": "user", "content": "Review this."}], "reference_answer": reference}
    built = attacks.build(row, "{reference}", distractor=other)
    responses = {(a.family, a.variant): a.response for a in built.attacks}
    assert json.loads(responses[("scaffold", "values emptied")]) == {"compliant": "", "explanation": ""}
    assert json.loads(responses[("hedged", "field: [A, B]")])["compliant"] == ["No", "Yes"]
    assert json.loads(responses[("wrong_answer", "wrong")]) == other
    assert "２２" in responses[("lookalike_digits", "fullwidth")]
    assert "```json" in responses[("padding", "filler around a fenced block")]
    assert attacks.pick_distractor([reference, {**reference, "explanation": "x"}, other], 0) == other
