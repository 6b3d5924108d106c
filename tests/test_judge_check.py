"""``rft judge-check`` against planted judges on the Converse emulator (real HTTP on 127.0.0.1): a judge that
agrees with the labels on a known share of rows is measured within 0.05 and trusted; a judge that prefers
longer replies and one that rates whatever it does not recognise as excellent are caught; a rerun makes no
call; a bad labels file is one line and exit 2."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rft.agreement import quadratic_kappa
from rft.cli import main
from stacks.config import PROJECT_ROOT
from tests.bedrock_emulator import Script, bedrock_emulator

SPEC = PROJECT_ROOT / "reward_specs" / "support_rubric.toml"
LABELS = PROJECT_ROOT / "data" / "support" / "labels.jsonl"
ROWS = 21  # three prompts x seven kinds of reply: the smallest set judge-check accepts is 20
AGREE_SHARE_TARGET = 0.7

Labeller = Callable[[str, list[str], list[str], str, "str | None"], dict[str, str]]


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()[:ROWS]]


def write_labels(tmp_path: Path, records: list[dict[str, Any]], name: str = "labels.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def human_labels(record: dict[str, Any], criteria: list[str]) -> dict[str, str]:
    """The row's human label of each criterion (a dimension labelled once: that label everywhere)."""
    for value in record["human"].values():
        if isinstance(value, dict) and set(value) == set(criteria):
            return dict(value)
    single = [v for v in record["human"].values() if isinstance(v, str)]
    return {criteria[0]: single[0]}


def agrees(record: dict[str, Any], dimension: str) -> bool:
    """The planted judge 1 agrees on safety everywhere and on quality on a fixed, known subset of the
    replies that answer something (~70%, by a hash of the reply); it knows a reply with no answer is
    worthless."""
    quality = record["human"]["quality"]
    if dimension == "safety" or set(quality.values() if isinstance(quality, dict) else [quality]) == {
        "unacceptable"
    }:
        return True
    return int(hashlib.sha256(record["response"].encode()).hexdigest(), 16) % 100 < AGREE_SHARE_TARGET * 100


def shifted(label: str, scale: list[str]) -> str:
    """A label one step away, never a bias upward on average: low labels go up, high labels go down."""
    i, k = scale.index(label), len(scale)
    return scale[i + 1] if i < k / 2 else scale[i - 1]


def known_reply(records: list[dict[str, Any]], response: str) -> dict[str, Any] | None:
    for record in records:
        if record["response"] == response:
            return record
    return None


def padded_original(records: list[dict[str, Any]], response: str) -> dict[str, Any] | None:
    """The labelled reply that ``response`` is a padded copy of (the longest that is its prefix)."""
    matches = [r for r in records if r["response"].strip() and response.startswith(r["response"].rstrip())]
    return max(matches, key=lambda r: len(r["response"]), default=None)


def fair_judge(records: list[dict[str, Any]]) -> Labeller:
    """Planted judge 1: the human labels on the rows where ``agrees``, a shifted label elsewhere; a padded
    reply is judged as its original; anything it does not know gets the lowest label."""

    def label(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        record = known_reply(records, response) or padded_original(records, response)
        if record is None:
            return dict.fromkeys(criteria, scale[0])
        human = human_labels(record, criteria)
        if agrees(record, "quality" if len(criteria) > 1 else "safety"):
            return human
        return {c: shifted(human[c], scale) for c in criteria}

    return label


def long_lover(records: list[dict[str, Any]]) -> Labeller:
    """Planted judge 2: the human labels, except that a padded reply gets the top label everywhere."""

    def label(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        record = known_reply(records, response)
        if record is not None:
            return human_labels(record, criteria)
        if padded_original(records, response) is not None:
            return dict.fromkeys(criteria, scale[-1])
        return dict.fromkeys(criteria, scale[0])

    return label


def gullible(records: list[dict[str, Any]]) -> Labeller:
    """Planted judge 3: the human labels on the replies it knows; anything else is excellent."""

    def label(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        record = known_reply(records, response)
        if record is not None:
            return human_labels(record, criteria)
        return dict.fromkeys(criteria, scale[-1])

    return label


def judge_check(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["judge-check", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_json(tmp_path: Path, labels: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = judge_check(
        "--spec", str(SPEC), "--labels", str(labels), "--out", str(tmp_path / "out"), "--repeats", "2",
        "--yes", "--json", *extra,
    )  # fmt: skip
    return code, (json.loads(out) if out.strip() else {}), err


def truth(records: list[dict[str, Any]], scale: list[str], dimension: str) -> tuple[float, float]:
    """(agreement, quadratic kappa) of planted judge 1 on ``dimension``, from its definition."""
    agree = [agrees(r, dimension) for r in records]
    human: list[int] = []
    judge: list[int] = []
    for r, ok in zip(records, agree):
        value = r["human"][dimension]
        labels = list(value.values()) if isinstance(value, dict) else [value]
        for label in labels:
            human.append(scale.index(label))
            judge.append(scale.index(label if ok else shifted(label, scale)))
    kappa = quadratic_kappa(human, judge, len(scale))
    assert kappa is not None
    return sum(agree) / len(agree), kappa


QUALITY = ["unacceptable", "poor", "acceptable", "good", "excellent"]
SAFETY = ["unsafe", "safe"]


def test_a_fair_judge_is_measured_within_005_of_the_truth_and_trusted(tmp_path: Path) -> None:
    """Judge 1 agrees on a known share of rows: agreement and kappa within 0.05 of the truth, no flips, no
    bias -> trustworthy; a rerun makes no new call and reports the same numbers."""
    records = rows()
    labels = write_labels(tmp_path, records)
    with bedrock_emulator(Script(labeller=fair_judge(records))) as emulator:
        code, report, err = run_json(tmp_path, labels)
        first_calls = len(emulator.requests)
        assert code == 0, err
        again_code, again, _ = run_json(tmp_path, labels)
        assert len(emulator.requests) == first_calls  # the rerun is served from the judgment cache
    assert again_code == 0 and again["calls"]["made"] == 0 and again["calls"]["cached"] > 0
    assert again["dimensions"] == report["dimensions"]

    assert report["verdict"] == "trustworthy", report["failures"]
    assert report["rows"] == ROWS and report["repeats"] == 2
    assert report["judge_model"] == "us.amazon.nova-pro-v1:0"
    assert report["calls"]["made"] == first_calls
    for name, scale in (("quality", QUALITY), ("safety", SAFETY)):
        d = report["dimensions"][name]
        share, kappa = truth(records, scale, name)
        if name == "quality":
            assert 0.3 < share < 0.9  # the planted judge really disagrees
        assert d["n"] == ROWS
        assert abs(d["agreement"] - share) <= 0.05, (name, d["agreement"], share)
        assert abs(d["kappa"] - kappa) <= 0.05, (name, d["kappa"], kappa)
        if name == "quality":
            assert d["kappa_ci95"][0] <= d["kappa"] <= d["kappa_ci95"][1]
        assert d["flip_rate"] == 0.0
        assert d["length_bias"] == 0.0
        if name == "quality":
            assert d["master_key_max_credit"] == 0.0 and d["rubric_echo_credit"] == 0.0
        else:  # a ":" is safe: the veto-only dimension reports it but pays nothing for it
            assert d["pays"] is False and d["master_key_max_credit"] == 1.0
        assert set(report["dimensions"][name]) >= {
            "n", "agreement", "within_one", "kappa", "spearman", "flip_rate", "length_bias",
            "master_key_max_credit", "rubric_echo_credit", "criteria",
        }  # fmt: skip
    assert set(report["dimensions"]["quality"]["criteria"]) == {
        "accurate",
        "resolves",
        "empathetic",
        "on_brand",
    }
    assert report["dimensions"]["safety"]["criteria"] == {}  # safety is labelled once per row
    assert (tmp_path / "out" / "confusion.png").stat().st_size > 1000
    assert sum(1 for _ in (tmp_path / "out" / "judgments.jsonl").open()) > ROWS * 2 * 2


def test_repeats_are_distinct_calls(tmp_path: Path) -> None:
    """Each repeat of a reply is its own call (its own cache entry), so a judge that flips is seen."""
    records = rows()
    labels = write_labels(tmp_path, records)
    seen: dict[str, int] = {}

    def flipping(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        record = known_reply(records, response)
        if record is None:
            return dict.fromkeys(criteria, scale[0])
        seen[response] = seen.get(response, 0) + 1
        human = human_labels(record, criteria)
        # The second look at every reply of an "ideal" row lands elsewhere: 3 of 21 rows flip.
        if record["kind"] == "ideal" and seen[response] % 2 == 0:
            return {c: shifted(human[c], scale) for c in criteria}
        return human

    with bedrock_emulator(Script(labeller=flipping)):
        code, report, err = run_json(tmp_path, labels)
    assert code == 0, err
    assert report["dimensions"]["quality"]["flip_rate"] == pytest.approx(3 / ROWS, abs=1e-3)
    assert report["dimensions"]["quality"]["criteria"]["accurate"]["flip_rate"] == pytest.approx(
        3 / ROWS, abs=1e-3
    )


def test_a_judge_that_prefers_longer_replies_is_flagged(tmp_path: Path) -> None:
    records = rows()
    labels = write_labels(tmp_path, records)
    with bedrock_emulator(Script(labeller=long_lover(records))):
        code, report, err = run_json(tmp_path, labels, "--fail-if-untrustworthy")
    assert code == 1, err
    assert report["verdict"] == "untrustworthy"
    quality = report["dimensions"]["quality"]
    below_top = sum(
        1 for r in records if r["human"]["quality"] != dict.fromkeys(r["human"]["quality"], "excellent")
    )
    assert quality["length_bias"] == pytest.approx(below_top / ROWS, abs=1e-3)
    assert quality["agreement"] == 1.0 and quality["kappa"] == pytest.approx(1.0)
    failed = {(f["dimension"], f["test"]) for f in report["failures"]}
    assert ("quality", "length_bias") in failed
    assert not {t for _, t in failed} & {"master_key", "rubric_echo", "kappa", "flip_rate"}
    assert all(f["next_step"] for f in report["failures"])


def test_a_judge_that_rates_the_unknown_excellent_fails_master_key_and_rubric_echo(tmp_path: Path) -> None:
    """The probes reach the judge past the pre-checks (credit 1 from the judge alone), and the guarded
    grader's credit for the same master keys is reported beside it (0: the pre-checks floor them)."""
    records = rows()
    labels = write_labels(tmp_path, records)
    with bedrock_emulator(Script(labeller=gullible(records))):
        code, report, err = run_json(tmp_path, labels)
        code_text, text, _ = judge_check(
            "--spec", str(SPEC), "--labels", str(labels), "--out", str(tmp_path / "out"), "--repeats", "2",
            "--yes",
        )  # fmt: skip
    assert code == 0, err  # untrustworthy, but no --fail-if-untrustworthy
    assert report["verdict"] == "untrustworthy"
    for name in ("quality", "safety"):
        d = report["dimensions"][name]
        assert d["master_key_max_credit"] == 1.0 and d["rubric_echo_credit"] == 1.0
        assert d["guarded"]["master_key_max_credit"] == 0.0
    failed = {(f["dimension"], f["test"]) for f in report["failures"]}
    assert {("quality", "master_key"), ("quality", "rubric_echo")} <= failed
    # safety only vetoes (weight 0): its numbers are reported, but a "safe" on ":" pays nothing.
    assert ("safety", "master_key") not in failed and ("safety", "rubric_echo") not in failed
    assert code_text == 0 and "verdict: untrustworthy" in text and "master_key" in text


def test_two_judges_side_by_side(tmp_path: Path) -> None:
    """--judge-model a,b: the first judge's report at the top level, both under ``judges``, calls summed."""
    records = rows()
    labels = write_labels(tmp_path, records)
    fair, fooled = fair_judge(records), gullible(records)

    def by_model(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        return (fair if model == "judge-a" else fooled)(model, criteria, scale, response, reference)

    with bedrock_emulator(Script(labeller=by_model)) as emulator:
        code, report, err = run_json(tmp_path, labels, "--judge-model", "judge-a,judge-b")
        models = {r.model_id for r in emulator.requests}
    assert code == 0, err
    assert models == {"judge-a", "judge-b"}
    assert report["judge_model"] == "judge-a" and report["verdict"] == "trustworthy"
    assert report["judges"]["judge-b"]["verdict"] == "untrustworthy"
    assert report["judges"]["judge-a"]["dimensions"] == report["dimensions"]
    assert report["calls"]["made"] == len(emulator.requests)


def _bad(records: list[dict[str, Any]], index: int, **change: Any) -> list[dict[str, Any]]:
    out = [dict(r) for r in records]
    out[index] = {**out[index], **change}
    return out


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda rs: _bad(rs, 2, human={**rs[2]["human"], "safety": "sfe"}),
            ":3: human.safety: 'sfe' is not on the scale",
        ),
        (lambda rs: _bad(rs, 2, human={**rs[2]["human"], "safety": "sfe"}), "did you mean 'safe'?"),
        (
            lambda rs: _bad(
                rs, 4, human={**rs[4]["human"], "quality": {**rs[4]["human"]["quality"], "acurate": "good"}}
            ),
            ":5: human.quality.acurate: no such criterion in dimension 'quality'; did you mean 'accurate'?",
        ),
        (
            lambda rs: _bad(rs, 0, human={**rs[0]["human"], "tone": "good"}),
            ":1: human.tone: not a judge dimension",
        ),
        (lambda rs: _bad(rs, 1, human={"quality": "good"}), ":2: human.safety is missing"),
        (lambda rs: _bad(rs, 3, response=None), ":4: `response` must be a string"),
        (lambda rs: _bad(rs, 6, reference_answer=""), ":7: empty-reference-answer"),
        (lambda rs: rs[:19], "19 labelled rows; judge-check needs at least 20"),
    ],
)
def test_a_bad_labels_file_is_one_line_and_exit_2(tmp_path: Path, mutate: Any, expected: str) -> None:
    labels = write_labels(tmp_path, mutate(rows()))
    code, out, err = judge_check(
        "--spec", str(SPEC), "--labels", str(labels), "--out", str(tmp_path / "o"), "--yes"
    )
    assert code == 2 and out == ""
    assert expected in err and err.count("\n") == 1 and err.startswith("rft judge-check: error: "), err


def test_a_spec_without_a_judge_and_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    labels = write_labels(tmp_path, rows())
    gsm8k = PROJECT_ROOT / "reward_specs" / "gsm8k.toml"
    code, _, err = judge_check("--spec", str(gsm8k), "--labels", str(labels), "--yes")
    assert code == 2 and "no judge dimension" in err
    code, _, err = judge_check("--spec", str(SPEC), "--labels", str(labels), "--repeats", "0", "--yes")
    assert code == 2 and "--repeats 0" in err
    code, _, err = judge_check("--spec", str(SPEC), "--labels", str(tmp_path / "none.jsonl"), "--yes")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("response", ["", ":", "Hi Ana, your refund is on its way.", "x" * 1500])
def test_the_length_probe_at_least_doubles_the_reply_with_400_more_characters(response: str) -> None:
    from rft.judge_check import padded

    longer = padded(response)
    assert longer.startswith(response.rstrip())
    assert len(longer) >= 2 * len(response) and len(longer) - len(response) >= 400


def test_the_committed_labels_are_generated_valid_and_span_the_scale() -> None:
    """data/support/labels.jsonl: what labels.py writes, >= 60 rows, every kind of reply, every label."""
    import subprocess
    import sys

    from reward.spec import load_spec
    from rft.judge_check import judge_dimensions, load_labels

    check = subprocess.run(
        [sys.executable, str(LABELS.parent / "labels.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    dimensions = judge_dimensions(load_spec(SPEC))
    labelled = load_labels(LABELS, dimensions)
    assert len(labelled) >= 60
    records = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    kinds = {r["kind"] for r in records}
    assert kinds == {"ideal", "wrong_fact", "no_next_step", "cold", "off_brand", "unsafe", "degenerate"}
    assert all(r["reason"].strip() and "\n" not in r["reason"] for r in records)
    used = {label for r in records for label in r["human"]["quality"].values()}
    assert used == set(QUALITY)
    assert {r["human"]["safety"] for r in records} == set(SAFETY)


def test_a_judge_that_cannot_be_called_stops_the_check_in_one_line(tmp_path: Path) -> None:
    """Access denied on every call: exit 1, one line naming the model and what to fix; nothing cached."""
    labels = write_labels(tmp_path, rows())
    with bedrock_emulator(Script(error="AccessDeniedException")):
        code, out, err = judge_check(
            "--spec", str(SPEC), "--labels", str(labels), "--out", str(tmp_path / "out"), "--repeats", "2", "--yes"
        )  # fmt: skip
    assert code == 1 and out == ""
    last = err.splitlines()[-1]
    assert err.startswith("cost estimate: ") and err.count("\n") == 2, err
    assert last.startswith("rft judge-check: error: judge model us.amazon.nova-pro-v1:0: every call failed: ")
    assert "access denied" in last and "bedrock:InvokeModel" in last and "Lambda" not in last, last


def test_throttling_is_retried_and_measured_the_same(tmp_path: Path) -> None:
    """A third of the calls throttled: the one Bedrock Runtime caller retries them; the numbers do not move."""
    records = rows()
    labels = write_labels(tmp_path, records)
    spec = tmp_path / "support_fast_retries.toml"  # the same rubric, with millisecond backoffs
    text = re.sub(
        r"^(max_output_tokens = .*)$",
        r"\1\nbackoff_base_s = 0.001\nbackoff_max_s = 0.005",
        SPEC.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert text.count("backoff_base_s") == 2
    spec.write_text(text, encoding="utf-8")
    with bedrock_emulator(Script(labeller=fair_judge(records), throttle_fraction=0.3)) as emulator:
        code, out, err = judge_check(
            "--spec", str(spec), "--labels", str(labels), "--out", str(tmp_path / "out"), "--repeats", "2",
            "--yes", "--json",
        )  # fmt: skip
        report = json.loads(out)
        throttled = len(emulator.answered("ThrottlingException"))
    assert code == 0, err
    assert throttled > 0 and report["calls"]["throttled"] == throttled and report["calls"]["failed"] == 0
    share, _ = truth(records, QUALITY, "quality")
    assert abs(report["dimensions"]["quality"]["agreement"] - share) <= 0.05


def test_one_repeat_measures_everything_but_the_flip_rate(tmp_path: Path) -> None:
    """--repeats 1: no flip rate (null, a note), and the verdict still rests on the other tests."""
    records = rows()
    labels = write_labels(tmp_path, records)
    with bedrock_emulator(Script(labeller=fair_judge(records))):
        code, out, err = judge_check(
            "--spec", str(SPEC), "--labels", str(labels), "--out", str(tmp_path / "out"), "--repeats", "1",
            "--yes", "--json",
        )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "trustworthy" and report["repeats"] == 1
    assert report["dimensions"]["quality"]["flip_rate"] is None and "--repeats 1" in report["notes"][0]


def test_the_walkthrough_in_docs_is_the_real_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/judge.md "Check your judge" shows what the command prints against the emulator's honest judge."""
    doc = (PROJECT_ROOT / "docs" / "judge.md").read_text(encoding="utf-8")
    start = doc.index("```\n", doc.index("**The walkthrough's output.**")) + 4
    shown = doc[start : doc.index("\n```", start)]
    monkeypatch.chdir(PROJECT_ROOT)  # the paths as the walkthrough types them; the output goes to tmp_path
    with bedrock_emulator(Script()):
        code, out, err = judge_check(
            "--spec", "reward_specs/support_rubric.toml", "--labels", "data/support/labels.jsonl", "--yes",
            "--out", str(tmp_path / "judge-check"),
        )  # fmt: skip
    assert code == 0, err
    printed = out.rstrip("\n").replace(str(tmp_path / "judge-check"), "out/judge-check")
    assert printed == shown


def test_judge_unguarded_calls_for_every_sample_past_pre_checks_and_cache() -> None:
    """The grader's entry point for judge-check: ':' reaches the judge (the guarded grader floors it without
    a call), and the same reply twice is two calls (the guarded grader answers the second from its cache)."""
    from reward.spec import load_spec
    from rft.judge_check.judging import sample_for
    from rft.judge_check.labels import LabelledRow

    spec = load_spec(SPEC)
    grader = spec.graders[0]
    record = rows()[0]
    row = LabelledRow(1, record, record["response"], record["human"])
    with bedrock_emulator(Script(labeller=gullible([]))) as emulator:
        guarded = grader.grade_many([sample_for(row, ":")], None)
        assert len(emulator.requests) == 0 and guarded[0].score == 0.0
        raw = grader.judge_unguarded([sample_for(row, ":")])
        assert len(emulator.requests) == 1 and raw[0].score == 1.0
        twice = grader.judge_unguarded([sample_for(row, "Hi."), sample_for(row, "Hi.")], model="judge-x")
        assert [r.model_id for r in emulator.requests[1:]] == ["judge-x", "judge-x"]
        assert [g.metrics["judge_calls"] for g in twice] == [1.0, 1.0]


def test_rows_may_label_some_criteria_or_the_whole_dimension(tmp_path: Path) -> None:
    """Mixed labelling: 5 rows label only `accurate`, 4 give `quality` one label; each criterion is measured
    on the rows that label it, and the fair judge's agreement is still the truth."""
    records = rows()
    for r in records[:5]:
        r["human"] = {**r["human"], "quality": {"accurate": r["human"]["quality"]["accurate"]}}
    for r in records[5:9]:
        labels = set(r["human"]["quality"].values())
        if len(labels) == 1:  # a reply labelled alike everywhere: one label says the same
            r["human"] = {**r["human"], "quality": labels.pop()}
    single = sum(isinstance(r["human"]["quality"], str) for r in records)
    labels = write_labels(tmp_path, records)

    def fair(model: str, criteria: list[str], scale: list[str], response: str, reference: str | None):
        record = known_reply(records, response) or padded_original(records, response)
        if record is None:
            return dict.fromkeys(criteria, scale[0])
        value = record["human"]["quality" if len(criteria) > 1 else "safety"]
        full = value if isinstance(value, dict) else dict.fromkeys(criteria, value)
        human = {c: full.get(c, "acceptable") for c in criteria}
        return (
            human
            if agrees(record, "quality" if len(criteria) > 1 else "safety")
            else {c: shifted(human[c], scale) for c in criteria}
        )

    with bedrock_emulator(Script(labeller=fair)):
        code, report, err = run_json(tmp_path, labels)
    assert code == 0, err
    quality = report["dimensions"]["quality"]
    assert single >= 1
    assert quality["criteria"]["accurate"]["n"] == ROWS - single
    assert quality["criteria"]["resolves"]["n"] == ROWS - single - 5
    share, _ = truth(records, QUALITY, "quality")
    assert abs(quality["agreement"] - share) <= 0.05
