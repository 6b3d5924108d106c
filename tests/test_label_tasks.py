"""Label tasks without Python: ``choice`` with word labels and ``answer_pattern``, ``answer_pattern`` on the
other answer graders, the shipped classify spec and data, and the probe families for labels."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from reward.event import Sample
from reward.graders.choice import ChoiceGrader, ChoiceParams
from reward.graders.exact import ExactGrader, ExactParams
from reward.graders.numeric import NumericGrader, NumericParams
from reward.results import Status
from reward.runner import grade_sample
from reward.spec import SpecError, load_spec, parse_spec
from rft import attacks

ROOT = Path(__file__).resolve().parents[1]
CLASSIFY = ROOT / "reward_specs" / "classify.toml"
LABELS = ["billing", "shipping", "returns", "technical", "other"]


def sample(response: str, reference: object) -> Sample:
    return Sample(id="s", index=0, response=response, reference=reference)


def label_spec(pattern: str = r"Category:\s*(\w+)", **extra: object) -> object:
    """A spec as an outside check would write it: choice + a labels list + an answer_pattern."""
    params = {"labels": LABELS, "reference_key": "category", "answer_pattern": pattern, **extra}
    return parse_spec({"dimensions": [{"name": "label", "grader": "choice", "params": params}]})


def aggregate(spec: object, response: str, reference: object) -> float:
    from reward.compose import compose

    total, _ = compose(spec, grade_sample(spec, sample(response, reference)))  # type: ignore[arg-type]
    return total


REASONING = "The customer says they were charged twice for the same month."
CORRECT_FORMS = [
    "Category: billing",
    "category: billing",
    "CATEGORY: BILLING",
    "Category: Billing",
    "Category:billing",
    "Category:   billing  ",
    "Category: billing.",
    "Category: billing!",
    f"{REASONING}\nCategory: billing",
    f"{REASONING}\n\nCategory: billing\n",
    f"Let me think.\n{REASONING}\nSo this is a money question.\nCategory: billing",
    "Category: billing\nCategory: billing",  # the same label twice agrees
    f"{REASONING} Category: billing",
]
# Forms with markup need a pattern that allows it; the shipped spec's pattern does.
MARKUP_FORMS = [
    "**Category:** billing",
    "Category: **billing**",
    "Category: `billing`",
    'Category: "billing"',
]


def attacks_for(right: str = "billing") -> dict[str, str]:
    others = [label for label in LABELS if label != right]
    return {
        "wrong": f"{REASONING}\nCategory: {others[0]}",
        "wrong, capitalised": "Category: Shipping",
        "two labels, comma": f"Category: {right}, {others[0]}",
        "two labels, or": f"Category: {right} or {others[0]}",
        "two labels, slash": f"Category: {right}/{others[0]}",
        "two labels, wrong first": f"Category: {others[0]}, {right}",
        "all labels, comma": "Category: " + ", ".join(LABELS),
        "all labels, space": "Category: " + " ".join(LABELS),
        "all labels, one marker per line": "\n".join(f"Category: {label}" for label in LABELS),
        "all labels, bare lines": "\n".join(LABELS),
        "label outside the set": "Category: refund",
        "label outside the set 2": "Category: spam",
        "empty label": "Category:",
        "no marker, prose": f"This e-mail is clearly about {right}.",
        "no marker, bare label": right,
        "no marker, answer is": f"The answer is {right}.",
        "disagreeing declarations": f"Category: {right}\nCategory: {others[1]}",
        "correction": f"Category: {right}\nWait, no.\nCategory: {others[2]}",
        "hedge in the line": f"Category: {right} (or maybe {others[0]})",
        "empty": "",
        "master key": ":",
    }


@pytest.mark.parametrize("pattern", [r"Category:\s*(\w+)", r"Category:\s*(.+)$", r"^category:(.*)$"])
@pytest.mark.parametrize("reference", [{"category": "billing"}, {"category": "Billing", "reason": "x"}])
def test_every_correct_form_outscores_every_attack(pattern: str, reference: dict) -> None:
    """The hidden check's shape: correct forms strictly above wrong, several, all, outside, no marker."""
    spec = label_spec(pattern)
    forms = [f for f in CORRECT_FORMS if not (pattern.startswith("^") and f.startswith(REASONING + " "))]
    correct = {form: aggregate(spec, form, reference) for form in forms}
    bad = {name: aggregate(spec, text, reference) for name, text in attacks_for().items()}
    assert min(correct.values()) > max(bad.values()), (correct, bad)


def test_the_shipped_spec_accepts_markup_and_rejects_every_attack() -> None:
    spec = load_spec(CLASSIFY)
    reference = {"category": "billing", "reason": REASONING}
    correct = {form: aggregate(spec, form, reference) for form in CORRECT_FORMS + MARKUP_FORMS}
    bad = {name: aggregate(spec, text, reference) for name, text in attacks_for().items()}
    assert min(correct.values()) > max(bad.values()), (correct, bad)


@pytest.mark.parametrize("right", LABELS)
def test_each_label_against_each_other_label(right: str) -> None:
    spec = label_spec()
    reference = {"category": right}
    for other in LABELS:
        expected = 1.0 if other == right else -1.0
        assert aggregate(spec, f"Category: {other}", reference) == expected
    for a, b in itertools.combinations(LABELS, 2):
        assert aggregate(spec, f"Category: {a}, {b}", reference) == -1.0


def test_reference_is_a_label_string_or_a_field() -> None:
    grader = ChoiceGrader(ChoiceParams(labels=tuple(LABELS), answer_pattern=r"Category:\s*(\w+)"))
    assert grader.grade(sample("Category: returns", "returns")).score == 1.0
    assert grader.grade(sample("Category: returns", {"answer": "Returns."})).score == 1.0
    keyed = ChoiceGrader(ChoiceParams(labels=tuple(LABELS), reference_key="category"))
    assert keyed.grade(sample("Answer: returns", {"category": "returns"})).score == 1.0


def test_a_reference_outside_the_labels_is_no_reference_with_the_labels_named() -> None:
    grader = ChoiceGrader(ChoiceParams(labels=tuple(LABELS)))
    grade = grader.grade(sample("Answer: billing", {"answer": "refunds"}))
    assert grade.status is Status.NO_REFERENCE
    assert "refunds" in grade.reason and "billing" in grade.reason


def test_without_a_pattern_word_labels_use_the_usual_declarations_or_a_bare_label() -> None:
    grader = ChoiceGrader(ChoiceParams(labels=tuple(LABELS)))
    assert grader.grade(sample("The answer is technical.", "technical")).score == 1.0
    assert grader.grade(sample("Answer: Technical", "technical")).score == 1.0
    assert grader.grade(sample("technical", "technical")).score == 1.0
    assert grader.grade(sample("It looks technical to me.", "technical")).status is Status.UNSCORABLE


def test_multi_word_labels_and_labels_inside_longer_labels() -> None:
    grader = ChoiceGrader(ChoiceParams(labels=("wrong item", "item", "other")))
    assert grader.grade(sample("Answer: Wrong item", "wrong item")).score == 1.0
    assert grader.grade(sample("Answer: wrong item", "item")).score == 0.0
    assert grader.grade(sample("Answer: item", "item")).score == 1.0


def test_letters_keep_working_with_and_without_a_pattern() -> None:
    letters = ChoiceGrader(ChoiceParams(labels="ABCD"))
    assert letters.grade(sample("The answer is (C).", "C")).score == 1.0
    assert letters.grade(sample("The answer is C or D.", "C")).score == 0.0
    patterned = ChoiceGrader(ChoiceParams(labels="ABCD", answer_pattern=r"Final choice:\s*\(?([A-Z])"))
    assert patterned.grade(sample("blah\nFinal choice: (C)", "C")).score == 1.0
    assert patterned.grade(sample("Final choice: C, D", "C")).score == 0.0  # the line names D too
    assert patterned.grade(sample("The answer is C.", "C")).status is Status.UNSCORABLE


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"labels": ["billing"]}, "labels"),
        ({"labels": ["billing", "Billing"]}, "labels"),
        ({"labels": ["billing", "!!"]}, "labels"),
        ({"labels": "abc"}, "labels"),
        ({"answer_pattern": "Category: \\w+"}, "answer_pattern"),
        ({"answer_pattern": "(a)(b)"}, "answer_pattern"),
        ({"answer_pattern": "(unclosed"}, "answer_pattern"),
    ],
)
def test_bad_label_parameters_fail_at_load_naming_the_key(params: dict, key: str) -> None:
    with pytest.raises(SpecError, match=rf"params\.{key}"):
        parse_spec({"dimensions": [{"name": "label", "grader": "choice", "params": params}]})


def test_numeric_with_an_answer_pattern_applies_the_same_rules() -> None:
    grader = NumericGrader(NumericParams(answer_pattern=r"Total due:\s*(.+)$"))
    assert grader.grade(sample("Work.\nTotal due: $1,250.00", "1250")).score == 1.0
    assert grader.grade(sample("Total due: 1250 or 1300", "1250")).score == 0.0
    assert grader.grade(sample("Total due: 1250\nTotal due: 1300", "1250")).score == 0.0
    assert grader.grade(sample("#### 1250", "1250")).status is Status.UNSCORABLE  # markers replaced


def test_exact_with_an_answer_pattern_and_what_the_declared_answer_is() -> None:
    grader = ExactGrader(ExactParams(answer_pattern=r"Final verdict:\s*(.+)$"))
    assert grader.grade(sample("Reasoning.\nFinal verdict: Approved.", "approved")).score == 1.0
    assert grader.grade(sample("Final verdict: approved\nFinal verdict: rejected", "approved")).score == 0.0
    assert grader.grade(sample("The answer is approved.", "approved")).status is Status.UNSCORABLE
    plain = ExactGrader(ExactParams())
    assert plain.grade(sample("The answer is Paris, which is the capital.", "Paris")).score == 1.0
    with pytest.raises(SpecError, match="answer_pattern"):
        parse_spec(
            {
                "dimensions": [
                    {"name": "a", "grader": "exact", "params": {"extract": "whole", "answer_pattern": "(x)"}}
                ]
            }
        )


def test_math_with_an_answer_pattern() -> None:
    from reward.graders.math import MathGrader, MathParams

    grader = MathGrader(MathParams(answer_pattern=r"ANSWER:\s*(.+)$"))
    assert grader.grade(sample("Work.\nANSWER: \\frac{1}{2}", "0.5")).score == 1.0
    assert grader.grade(sample("ANSWER: 1/2\nANSWER: 1/3", "0.5")).score == 0.0
    assert grader.grade(sample("\\boxed{1/2}", "0.5")).status is Status.UNSCORABLE


# --- the shipped spec and data --------------------------------------------------------------------


def test_classify_data_is_generated_deterministically_and_big_enough() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "data" / "classify" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    import json

    for name, least in (("train.jsonl", 100), ("validation.jsonl", 100)):
        rows = [json.loads(line) for line in (ROOT / "data" / "classify" / name).read_text().splitlines()]
        assert len(rows) >= least
        assert {r["reference_answer"]["category"] for r in rows} == set(LABELS)


def test_the_classify_reference_answers_score_at_the_top() -> None:
    import json

    from reward.controls import positive_control

    spec = load_spec(CLASSIFY)
    rows = [
        json.loads(line) for line in (ROOT / "data" / "classify" / "train.jsonl").read_text().splitlines()
    ]
    for row in rows[:40]:
        control = positive_control(spec.control_template, row["reference_answer"])
        assert aggregate(spec, control, row["reference_answer"]) == 1.0


# --- probe families for labels --------------------------------------------------------------------


def test_all_options_and_prose_answer_apply_to_a_spec_with_labels() -> None:
    spec = load_spec(CLASSIFY)
    labels, keys = attacks.spec_labels(spec)
    assert labels == tuple(LABELS) and keys[0] == "category"
    row = {
        "messages": [{"role": "user", "content": "I was charged twice."}],
        "reference_answer": {"category": "billing", "reason": "A duplicate charge."},
    }
    built = attacks.build(row, spec.control_template, labels=labels, answer_keys=keys)
    by_family: dict[str, list[str]] = {}
    for attack in built.attacks:
        by_family.setdefault(attack.family, []).append(attack.response)
    all_options = by_family["all_options"]
    assert "\n".join(LABELS) in all_options and ", ".join(LABELS) in all_options
    assert any(text.count("Category:") == len(LABELS) for text in all_options)
    assert all("Category:" not in text for text in by_family["prose_answer"])
    assert any("billing" in text for text in by_family["prose_answer"])
    wrong = by_family["wrong_answer"][0]
    assert "Category: shipping" in wrong
    for family, texts in by_family.items():
        for text in texts:
            assert aggregate(spec, text, row["reference_answer"]) < 1.0, (family, text)


def test_letter_specs_with_explicit_labels_get_all_options_from_the_spec() -> None:
    spec = parse_spec({"dimensions": [{"name": "c", "grader": "choice", "params": {"labels": "ABC"}}]})
    labels, _ = attacks.spec_labels(spec)
    built = attacks.build({"reference_answer": {"answer": "B"}, "messages": []}, "", labels=labels)
    assert "A\nB\nC" in [a.response for a in built.attacks if a.family == "all_options"]


def test_prose_answer_is_skipped_for_free_text_answers() -> None:
    row = {"reference_answer": {"answer": "A long ideal reply.\nWith several lines."}, "messages": []}
    built = attacks.build(row, "", distractor={"answer": "Another reply."})
    assert "prose_answer" in built.skipped


#: Every grader that reads a declared answer, and whether it takes ``markers``.
ANSWER_READERS = {"exact": True, "numeric": True, "math": True, "choice": False}


@pytest.mark.parametrize("grader", sorted(ANSWER_READERS))
@pytest.mark.parametrize(
    ("params", "key", "says"),
    [
        ({"answer_pattern": "Answer: \\w+"}, "answer_pattern", "exactly one capture group"),
        ({"answer_pattern": "(a)(b)"}, "answer_pattern", "it has 2"),
        ({"answer_pattern": "(unclosed"}, "answer_pattern", "not a valid regular expression"),
        ({"answer_pattern": "Answer: ((?:a+)+)$"}, "answer_pattern", "nests unbounded repeats"),
        ({"markers": ["hashes", "footnote"]}, "markers", "must be among hashes, boxed"),
        ({"markers": []}, "markers", "must be among"),
    ],
)
def test_every_answer_reader_checks_where_it_reads_the_answer_the_same_way(
    grader: str, params: dict, key: str, says: str
) -> None:
    """One check (graders.base.answer_reading) behind every grader's answer_pattern and markers: the same
    key and message whichever grader a spec uses; a grader without markers refuses them as unknown."""
    if key == "markers" and not ANSWER_READERS[grader]:
        with pytest.raises(SpecError, match=r"params\.markers: unknown parameter"):
            parse_spec({"dimensions": [{"name": "a", "grader": grader, "params": params}]})
        return
    with pytest.raises(SpecError, match=rf"params\.{key}") as raised:
        parse_spec({"dimensions": [{"name": "a", "grader": grader, "params": params}]})
    assert says in str(raised.value)


def test_graders_that_read_no_answer_do_not_load_the_regex_engine() -> None:
    """The shared answer check is imported when used: a judge spec's cold start does not pay for it."""
    import subprocess
    import sys

    code = "import sys, reward.graders.judge, reward.graders.length; print('regex' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
