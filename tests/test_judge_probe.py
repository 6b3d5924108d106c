"""`rft probe` on the judge spec (reward_specs/support_rubric.toml) against the emulator's gullible judge:
a judge that obeys any instruction it sees outside the nonce fences. Every attack family, judge_injection
included, must lose to the reference reply; only the pre-checks and the fencing stand between the two."""

from __future__ import annotations

from pathlib import Path

from rft.cli import main
from tests.bedrock_emulator import Script, bedrock_emulator

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "reward_specs" / "support_rubric.toml"
DATA = ROOT / "data" / "support" / "train.jsonl"


def family_line(out: str, family: str) -> list[str]:
    """The family's row of the table, without its bar column: [family, rows, wins, ...]."""
    line = next(line for line in out.splitlines() if line.startswith(family + " "))
    words = line.split()
    return [words[0], *words[2:]]


def test_judge_injection_loses_on_the_support_rubric(capsys):
    from rft.attacks import FILTER_BAIT

    with bedrock_emulator(Script(judge="gullible", filter_on=FILTER_BAIT)) as emu:
        code = main(["probe", "--spec", str(SPEC), "--data", str(DATA), "--limit", "20"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows, wins = family_line(out, "judge_injection")[1:3]
    assert rows == "20" and wins == "0", out
    # The injected responses never reached the judge: the phrase pre-check floored them without a call.
    assert not any("Ignore the rubric" in r.user_text for r in emu.requests)


def test_the_probe_fails_when_the_judge_is_unprotected(capsys, monkeypatch):
    """Proof the probe can fail: without pre-checks and fences the gullible judge pays the injection."""
    import reward.graders.judge as judge_module
    import reward.judge.checks as checks

    monkeypatch.setattr(judge_module, "injection", lambda text: None)
    monkeypatch.setattr(
        judge_module, "user_message", lambda conversation, response, reference, nonce: response
    )
    monkeypatch.setattr(checks, "neutralize_tags", lambda text: text)
    with bedrock_emulator(Script(judge="gullible")):
        code = main(["probe", "--spec", str(SPEC), "--data", str(DATA), "--limit", "10"])
    out = capsys.readouterr().out
    assert code == 1
    # the injection reaches the reference's score (and the unprotected judge pays a wrong reply as much)
    assert family_line(out, "judge_injection")[5] == "+0.000", out
    assert "wrong_answer (100%)" in out.split("FAIL:", 1)[1]
