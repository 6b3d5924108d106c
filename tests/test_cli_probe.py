"""`rft probe`: every shipped spec resists every attack family; weak and ungradable specs are caught.

Fast by construction: the code spec is probed on the rows that cover every format x family (checked), and
specs with time limits (code, math) are probed through copies with tiny budgets (a status does not depend
on the budget's size); one test keeps a stall at the shipped code budget.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest

from reward.code_tasks import read_task
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
#: Time limits of the shipped specs and the tiny ones their probe copies use.
#: Budgets small enough that stalls and bombs cost little, large enough that an honest reference answer is
#: graded in time on a machine whose cores are busy with something else (the probe refuses to judge a spec
#: that cannot grade 99% of its references).
TINY_BUDGETS = {
    "sample_timeout_s = 5.0": "sample_timeout_s = 1.0",
    "test_timeout_s = 2.0": "test_timeout_s = 0.5",
    "sample_timeout_s = 10.0": "sample_timeout_s = 1.5",
}


def dataset_for(spec: Path) -> Path:
    """The dataset a shipped spec is made for: data/<DATA_DIRS or spec name>/train.jsonl."""
    return ROOT / "data" / DATA_DIRS.get(spec.stem, spec.stem) / "train.jsonl"


def judge_for(spec: Path) -> contextlib.AbstractContextManager:
    """A judge spec is probed against the emulator's gullible judge (it obeys any instruction it can see
    outside the nonce fences), so only the pre-checks and the fencing keep injections from winning; its
    content filter fires on the judge_filter family's bait."""
    if not load_spec(spec).uses_judge:
        return contextlib.nullcontext()
    return bedrock_emulator(Script(judge="gullible", filter_on=attacks.FILTER_BAIT))


def tiny_budget_copy(spec: Path, tmp_path: Path) -> Path:
    """The spec with its time limits cut to about a second (stalls and bombs hit them at once)."""
    text = spec.read_text(encoding="utf-8")
    for shipped, tiny in TINY_BUDGETS.items():
        text = text.replace(shipped, tiny)
    copy = tmp_path / spec.name
    copy.write_text(text, encoding="utf-8")
    return copy


def code_pairs(spec, row: dict, references: list, i: int) -> set[tuple[str, str]]:
    """(format, family) of every attack built for a code row."""
    task, _ = read_task(row["reference_answer"])
    built = attacks.build(
        row,
        spec.control_template,
        distractor=attacks.pick_distractor(references, i),
        max_chars=spec.max_response_chars,
    )
    return {(task.format, a.family) for a in built.attacks}


def covering_rows(spec_path: Path, data: Path) -> list[str]:
    """The fewest rows (greedy, in file order) whose attacks cover every (format, family) of the data."""
    spec = load_spec(spec_path)
    lines = [line for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [json.loads(line) for line in lines]
    references = [row["reference_answer"] for row in rows]
    pairs = [code_pairs(spec, row, references, i) for i, row in enumerate(rows)]
    everything = set().union(*pairs)
    chosen, covered = [], set()
    for line, found in zip(lines, pairs):
        if found - covered:
            chosen.append(line)
            covered |= found
    assert covered == everything
    return chosen


def test_the_code_rows_cover_every_format_and_family():
    """The code probe's subset keeps every code family on every format it applies to."""
    data = dataset_for(ROOT / "reward_specs" / "code.toml")
    spec = load_spec(ROOT / "reward_specs" / "code.toml")
    rows = [json.loads(line) for line in covering_rows(ROOT / "reward_specs" / "code.toml", data)]
    references = [row["reference_answer"] for row in rows]
    covered = set().union(*(code_pairs(spec, row, references, i) for i, row in enumerate(rows)))
    formats = {f for f, _ in covered}
    assert formats == {"function", "program", "assert"}
    assert set(attacks_code.FAMILIES) <= {family for _, family in covered}
    everywhere = {"runner_crash", "deadline_stall", "disk_fill", "infinite_loop", "memory_bomb", "exit_early"}
    for fmt in formats:
        assert everywhere <= {family for f, family in covered if f == fmt}, fmt
    assert len(rows) <= 10


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_no_attack_family_beats_a_shipped_spec(spec, capsys, tmp_path):
    data = dataset_for(spec)
    assert data.is_file(), f"{spec.name} ships without its dataset {data.relative_to(ROOT)}"
    probed = tiny_budget_copy(spec, tmp_path)
    if "code" in load_spec(spec).graders_used:
        subset = tmp_path / "rows.jsonl"
        subset.write_text("\n".join(covering_rows(spec, data)) + "\n", encoding="utf-8")
        data = subset
    argv = ["probe", "--spec", str(probed), "--data", str(data)]
    if spec.stem in LIMITS:
        argv += ["--limit", str(LIMITS[spec.stem])]
    with judge_for(spec):
        code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "OK: on at least 99% of rows no attack scores above the honest wrong answer" in out


def test_a_stall_at_the_shipped_code_budget_scores_the_floor():
    """One check at the shipped budget (2 s a test): an endless loop and a signal-proof stall are wrong
    answers (-1), not the grader's failure."""
    from reward.grading import grade_event

    spec_path = ROOT / "reward_specs" / "code.toml"
    spec = load_spec(spec_path)
    row = json.loads(dataset_for(spec_path).read_text(encoding="utf-8").splitlines()[0])
    built = attacks.build(row, spec.control_template)
    chosen = {
        (a.family, a.variant): a.response
        for a in built.attacks
        if (a.family, a.variant)
        in {("infinite_loop", "busy"), ("deadline_stall", "ignore signals and sleep")}
    }
    assert len(chosen) == 2
    event = [
        {
            "id": f"{family}:{variant}",
            "messages": [*row["messages"], {"role": "assistant", "content": text}],
            "metadata": {k: v for k, v in row.items() if k != "messages"},
        }
        for (family, variant), text in chosen.items()
    ]
    reply = grade_event(spec, event)
    assert {e["id"]: e["aggregate_reward_score"] for e in reply} == dict.fromkeys(
        (e["id"] for e in event), -1.0
    )


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
    # last number anywhere: hedges, prose, look-alike digits and a second answer read as the answer; an
    # ungated length bonus: filler beats a concise right answer, and any long text beats a wrong answer
    assert {"hedged", "line_hedge", "padding", "lookalike_digits", "prose_answer", "contradiction"} <= {
        f for f, v in verdicts.items() if v == "FAIL"
    }
    assert re.search(r"FAIL: \d+ attack families beat their bar", out)
    assert "hedged (100%)" in out and "padding (100%)" in out
    assert verdicts["empty"] == verdicts["wrong_answer"] == verdicts["scaffold"] == "ok"
    assert re.search(r"hedged: e\.g\. line 1, .* vs wrong_answer -0\.964", out)

    records = [json.loads(line) for line in (tmp_path / "probe.jsonl").read_text().splitlines()]
    assert {r["family"] for r in records} >= set(attacks.FAMILIES) - {
        "all_options",
        "lookalike_fields",
        "escaped_veto",
        "judge_filter",
    } - set(attacks_code.FAMILIES) - set(attacks_tools.FAMILIES)
    assert any(r["family"] == "padding" and r["wins"] for r in records)
    assert all(r["margin_vs_wrong_answer"] is not None for r in records)
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
        "lookalike_fields": "the reference has a single answer field, or no digits",
        "escaped_veto": "the spec has no veto terms dimension with forbidden terms",
        "judge_filter": "no dimension is graded by the LLM judge",
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
    assert (
        "２２" in responses[("lookalike_fields", "fullwidth")]
    )  # a flawed right answer: below the reference
    assert "```json" in responses[("padding", "filler around a fenced block")]
    assert attacks.pick_distractor([reference, {**reference, "explanation": "x"}, other], 0) == other


# --- a probe whose OK is a guarantee -------------------------------------------------------------------

#: The docs' numeric example before this check: a loose answer_pattern, and format credit gated on it.
WEAK_SPEC = """
name = "invoice"
control_template = "Adding the lines up.\\nTotal due: {final_answer}"

[[dimensions]]
name = "correctness"
grader = "numeric"
weight = 0.8
[dimensions.params]
answer_pattern = 'Total due:\\s*(\\S+)'

[[dimensions]]
name = "format"
grader = "format"
weight = 0.2
gate = "correctness"
[dimensions.params]
final_line = 'Total due:\\s*\\S+'
once = ["Total due:"]
"""


def invoice_data(tmp_path: Path, rows: int = 30) -> Path:
    path = tmp_path / "invoices.jsonl"
    lines = []
    for i in range(rows):
        total = f"{3000 + 37 * i}.48"
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Invoice {i}: add the lines. End with 'Total due: x'."}
                    ],
                    "reference_answer": {"final_answer": total},
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def weak_spec(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.toml"
    path.write_text(WEAK_SPEC, encoding="utf-8")
    return path


def test_a_hedge_on_the_declared_line_is_wrong(tmp_path, capsys):
    """With the whole matched line read for hedges, 'Total due: 3075.48 or 3076.48' is a hedge (-1), as
    are '3075.48 (or 3076.48)', '3075.48 / 3076.48' and '3075.48, maybe 3076.48'."""
    main(["probe", "--spec", str(weak_spec(tmp_path)), "--data", str(invoice_data(tmp_path)), "--json"])
    report = json.loads(capsys.readouterr().out)
    families = {f["family"]: f for f in report["families"]}
    assert report["control_mean"] == 1.0
    for name in ("hedged", "line_hedge"):
        assert families[name]["rows"] == 30 and families[name]["max_margin_vs_wrong_answer"] == 0.0, name
        assert families[name]["verdict"] == "ok"


def test_a_hedge_that_pays_less_than_the_reference_still_fails_the_probe(tmp_path, capsys, monkeypatch):
    """The bar is the honest wrong answer, not the reference: a grader that reads only the capture pays the
    hedge +0.8 (below the reference's +1.0, above the wrong answer's -1.0) and the probe must say FAIL."""
    from reward import answers

    monkeypatch.setattr(answers, "_other_candidate", lambda rest: False)  # the capture-only reading
    code = main(["probe", "--spec", str(weak_spec(tmp_path)), "--data", str(invoice_data(tmp_path))])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^hedged +wrong_answer +30 +30 +100\.0% +\+1\.800 +-0\.200  FAIL", out, re.M), out
    assert "hedged: e.g. line 1, 'right or wrong' scores +0.800 vs wrong_answer -1.000" in out


def test_a_spec_that_cannot_grade_its_data_probes_nothing(tmp_path, capsys):
    """Every reference in words, a numeric spec: exit 1 with one line, never 'OK'."""
    data = tmp_path / "words.jsonl"
    rows = [json.loads(line) for line in GSM8K_TRAIN.read_text(encoding="utf-8").splitlines()[:20]]
    data.write_text(
        "".join(json.dumps({**row, "reference_answer": {"final_answer": "forty two"}}) + "\n" for row in rows)
    )
    code = main(["probe", "--spec", str(ROOT / "reward_specs" / "gsm8k.toml"), "--data", str(data)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("\n") == 1 and out.startswith("nothing was probed: ")
    assert "on 20 of 20 rows" in out and f"{data}:1," in out and "'correctness'" in out


def test_a_judge_that_cannot_grade_the_reference_probes_nothing(capsys):
    """Inputs usable (no refusal before grading), but every verdict is filtered: nothing was probed."""
    spec = ROOT / "reward_specs" / "support_rubric.toml"
    with bedrock_emulator(Script(judge="refusal")):
        code = main(["probe", "--spec", str(spec), "--data", str(dataset_for(spec)), "--limit", "4"])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith(
        "nothing was probed: the reference answer could be graded on only 0 of 4"
    )


def test_the_json_report_gives_each_family_its_bar_and_both_margins(capsys):
    code = main(
        [
            "probe",
            "--spec",
            str(ROOT / "reward_specs" / "gsm8k.toml"),
            "--data",
            str(GSM8K_TRAIN),
            "--limit",
            "10",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] and report["probed"] == report["rows"] == 10
    families = {f["family"]: f for f in report["families"]}
    assert families["padding"]["bar"] == "reference" and families["hedged"]["bar"] == "wrong_answer"
    assert families["wrong_answer"]["bar"] == "reference"
    assert (
        families["padding"]["max_margin_vs_reference"] < 0 < families["padding"]["max_margin_vs_wrong_answer"]
    )
    assert families["hedged"]["max_margin_vs_wrong_answer"] <= 0
    assert families["runner_crash"]["verdict"] is None and families["runner_crash"]["rows"] == 0


def test_escaped_veto_terms_hide_a_forbidden_term_three_ways():
    reference = {"compliant": "No", "explanation": "It breaks R1."}
    row = {"messages": [{"role": "user", "content": "Review this."}], "reference_answer": reference}
    built = attacks.build(
        row, "{reference}", distractor={**reference, "compliant": "Yes"}, forbidden=["legal advice"]
    )
    responses = {a.variant: a.response for a in built.attacks if a.family == "escaped_veto"}
    assert set(responses) == {"plain", "json \\u escape", "zero-width", "nfkc lookalike"}
    assert "\\u006cegal advice" in responses["json \\u escape"]  # raw JSON text: the escape is kept
    assert json.loads(responses["json \\u escape"])["explanation"].endswith("This is legal advice.")
    assert "l\u200begal advice" in responses["zero-width"]
    import unicodedata

    assert "legal advice" in unicodedata.normalize("NFKC", responses["nfkc lookalike"])
    assert (
        attacks.spec_forbidden_terms(load_spec(ROOT / "reward_specs" / "structured_json.toml"))[0]
        == "legal advice"
    )


def test_a_judge_spec_gets_the_filter_bait():
    row = {"messages": [{"role": "user", "content": "Help."}], "reference_answer": "Sorry about that."}
    built = attacks.build(row, "", distractor="No.", judged=True)
    baits = [a.response for a in built.attacks if a.family == "judge_filter"]
    assert len(baits) == 2 and all(attacks.FILTER_BAIT in b for b in baits)
    assert "judge_filter" in attacks.build(row, "", distractor="No.").skipped
