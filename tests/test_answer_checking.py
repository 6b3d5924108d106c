"""The answer-checking failure classes, one test per class: currency and units in LaTeX,
environments, prose references, declared answers followed by a clause, several boxes and comma lists,
reasoning before ``answer_after``. Each class runs through the ``math`` grader and, where it applies,
the ``numeric`` one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward.answers import after_delimiter, declared_answers, strip_clause
from reward.event import Sample
from reward.graders.math import MathGrader, MathParams
from reward.graders.numeric import NumericGrader, NumericParams
from reward.math_text import clean, is_prose, top_level_items
from reward.results import Status
from reward.runner import grade_dimensions, grade_sample
from reward.spec import SpecError, parse_spec


def math_grade(reference: object, response: str, **params: object):
    return MathGrader(MathParams(**params)).grade(
        Sample(id="s", index=0, response=response, reference=reference)
    )


def numeric_grade(reference: object, response: str, **params: object):
    return NumericGrader(NumericParams(**params)).grade(
        Sample(id="s", index=0, response=response, reference=reference)
    )


BOTH = pytest.mark.parametrize("grade", [math_grade, numeric_grade], ids=["math", "numeric"])


# --- escaped currency, percent, units --------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("reference", "response", "credit"),
    [
        (r"\$10", r"The total is \boxed{\$10}.", 1.0),
        (r"\$10", r"\boxed{10}", 1.0),
        ("10", r"\boxed{\$10}", 1.0),
        (r"\boxed{\$50}", r"She pays \boxed{50}.", 1.0),
        (r"\$1,000", r"\boxed{\$1{,}000}", 1.0),
        (r"\$10", r"\boxed{\$11}", 0.0),
        (r"10\%", r"\boxed{10\%}", 1.0),
        ("10", r"\boxed{10\%}", 1.0),
        (r"10\%", r"\boxed{12\%}", 0.0),
        (r"5\text{ cm}", r"\boxed{5}", 1.0),
        ("5", r"\boxed{5\text{ cm}}", 1.0),
        ("5", r"\boxed{6 \text{ cm}}", 0.0),
        ("12", "#### 12 apples", 1.0),
    ],
)
def test_currency_percent_and_units_in_reference_and_response(grade, reference, response, credit) -> None:
    result = grade(reference, response)
    assert (result.status, result.score) == (Status.OK, credit), result.reason


def test_math_names_are_not_unit_words() -> None:
    assert clean("2 pi") == "2 pi"
    assert clean("12 apples") == "12"
    assert clean(r"\$5") == "5"
    assert math_grade(r"2\pi", r"\boxed{2 \pi}").score == 1.0
    assert math_grade("2", r"\boxed{2 \pi}").score == 0.0


# --- LaTeX environments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "response", "credit"),
    [
        (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", 1.0),
        (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\boxed{\begin{pmatrix}1\\3\end{pmatrix}}", 0.0),
        (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{bmatrix}1&2\\3&4\end{bmatrix}}", 1.0),
        (r"\begin{bmatrix}1&0\\0&1\end{bmatrix}", r"\boxed{\begin{bmatrix}1&0\\0&-1\end{bmatrix}}", 0.0),
        (r"\begin{matrix}1&2\\3&4\end{matrix}", r"$\boxed{\begin{pmatrix}1&2\\3&4\end{pmatrix}}$", 1.0),
        (r"\begin{pmatrix}\frac{1}{2}\\-1\end{pmatrix}", r"\boxed{\begin{pmatrix}0.5\\-1\end{pmatrix}}", 1.0),
        (r"\begin{vmatrix}1&2\\3&4\end{vmatrix}", r"\boxed{-2}", 1.0),
        (r"\begin{cases}x=1\\y=2\end{cases}", r"\boxed{\begin{cases}x=1\\y=2\end{cases}}", 1.0),
        (r"\begin{cases}x=1\\y=2\end{cases}", r"\boxed{\begin{cases}x=3\\y=2\end{cases}}", 0.0),
        (r"\begin{cases}x=1\\y=2\end{cases}", r"\boxed{y=2, x=1}", 1.0),
    ],
)
def test_matrices_and_systems(reference: str, response: str, credit: float) -> None:
    result = math_grade(reference, response)
    assert (result.status, result.score) == (Status.OK, credit), result.reason


# --- prose references --------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["forty two", "Answer is forty two.", "Monday", "twelve apples"])
def test_a_prose_reference_is_no_reference_with_a_reason(reference: str) -> None:
    for response in ("The answer is forty two.", r"\boxed{42}", "The answer is two forty."):
        result = math_grade(reference, response)
        assert result.status is Status.NO_REFERENCE
        assert "prose" in result.reason and "prose_references" in result.reason


def test_prose_references_compared_as_text_when_the_spec_asks() -> None:
    assert math_grade("forty two", "The answer is Forty-two.", prose_references="text").score == 1.0
    assert math_grade("forty two", "The answer is two forty.", prose_references="text").score == 0.0
    assert (
        math_grade("forty two", "The answer is forty two or forty three.", prose_references="text").score == 0
    )
    assert math_grade("forty two", "no declaration", prose_references="text").status is Status.UNSCORABLE


@pytest.mark.parametrize(
    "text", [r"\text{Monday}", "x^2 + y", r"\frac{a}{b}", r"\sqrt{2}", "ABCD", r"S_{MBCN}", "x = 1 or x = 2"]
)
def test_mathematics_is_not_prose(text: str) -> None:
    assert not is_prose(text)


def prose_dataset(tmp_path) -> tuple[str, str]:
    import json

    spec = tmp_path / "spec.toml"
    spec.write_text(
        'control_template = "The final answer is $\\\\boxed{{final_answer}}$."\n'
        '[[dimensions]]\nname = "correctness"\ngrader = "math"\n',
        encoding="utf-8",
    )
    data = tmp_path / "data.jsonl"
    rows = [{"final_answer": str(n)} for n in range(8)] + [{"final_answer": "forty two"}] * 4
    data.write_text(
        "".join(
            json.dumps({"messages": [{"role": "user", "content": f"q{i}"}], "reference_answer": r}) + "\n"
            for i, r in enumerate(rows)
        ),
        encoding="utf-8",
    )
    return str(spec), str(data)


def test_prose_reference_rows_are_counted_by_rft_score(tmp_path, capsys) -> None:
    from rft.cli import main

    spec, data = prose_dataset(tmp_path)
    code = main(["score", "--spec", spec, "--data", data])
    out, err = capsys.readouterr()
    # refused before grading (reward.controls.check_gradable, shared with validate-data and cdk synth)
    assert code == 2 and out == ""
    assert "cannot grade the reference answer on 4 of 12 rows" in err and "prose, not mathematics" in err


def test_prose_reference_rows_are_counted_by_rft_validate_data(tmp_path, capsys) -> None:
    from rft.cli import main

    spec, data = prose_dataset(tmp_path)
    code = main(["validate-data", "--min-rows", "1", "--spec", spec, data])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot grade the reference answer on 4 of 12 rows (over 1%)" in err
    assert "dimension 'correctness': no_reference: reference answer 'forty two' is prose" in err


# --- a declared answer followed by a clause -------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("response", "credit"),
    [
        ("The answer is 42, which is the number of apples.", 1.0),
        ("So the answer is 42 because 6 times 7 is 42.", 1.0),
        ("The final answer is 42 since nothing else fits.", 1.0),
        ("The final answer: 42 (that is, six sevens).", 1.0),
        ("#### 42 apples", 1.0),
        ("The answer is 42, which might also be 43.", 0.0),
        ("The answer is 42, or 43.", 0.0),
        ("The answer is 43, which is the number of apples.", 0.0),
    ],
)
def test_a_trailing_clause_is_not_part_of_the_answer(grade, response: str, credit: float) -> None:
    result = grade("42", response)
    assert (result.status, result.score) == (Status.OK, credit), result.reason


@given(st.integers(0, 10**6), st.sampled_from(["which", "because", "since", "as this", "so that"]), st.text())
@settings(max_examples=200, deadline=None)
def test_strip_clause_keeps_the_answer_and_never_hides_a_hedge(number: int, word: str, rest: str) -> None:
    stripped = strip_clause(f"{number}, {word} {rest}")
    assert stripped.startswith(str(number))
    if " or " in f" {rest} " or "maybe" in rest.lower():
        assert stripped == f"{number}, {word} {rest}"


# --- several boxes, ordered and unordered lists ---------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "response", "credit"),
    [
        ("17", r"\boxed{17} or maybe \boxed{18}", 0.0),
        ("17", r"First \boxed{17}, then \boxed{18}.", 0.0),
        ("17", r"\boxed{17} ... so indeed \boxed{17}", 1.0),
        (r"(2,1),(1,2)", r"\boxed{(1, 2)} and \boxed{(2, 1)}", 1.0),
        (r"(2,1),(1,2)", r"\boxed{(1, 2)}, \boxed{(2, 1)} and \boxed{(3, 3)}", 0.0),
        (r"\{2, 3\}", r"\boxed{2} and \boxed{3}", 1.0),
        ("1, 2, 3", r"\boxed{3, 2, 1}", 1.0),
    ],
)
def test_disagreeing_declarations_are_wrong_unless_they_list_a_set_valued_reference(
    reference: str, response: str, credit: float
) -> None:
    assert math_grade(reference, response).score == credit


def test_ordered_lists_compare_item_by_item_in_order() -> None:
    assert math_grade("1, 2, 3", r"\boxed{1, 2, 3}", ordered_lists=True).score == 1.0
    assert math_grade("1, 2, 3", r"\boxed{3, 2, 1}", ordered_lists=True).score == 0.0
    assert math_grade("1, 2, 3", r"\boxed{1, 2}", ordered_lists=True).score == 0.0
    assert math_grade("1, \\frac{1}{2}", r"\boxed{1, 0.5}", ordered_lists=True).score == 1.0
    assert math_grade("1,000", r"\boxed{1000}", ordered_lists=True).score == 1.0  # thousands, not a list


def test_top_level_items_ignore_commas_inside_brackets() -> None:
    assert top_level_items("(1, 2), [3, 4], \\{5, 6\\}") == ["(1, 2)", "[3, 4]", "\\{5, 6\\}"]
    assert top_level_items("1,000,000") == ["1,000,000"]


# --- answer_after (reasoning) ------------------------------------------------------------------------


def spec_with(answer_after: str, grader: str = "math") -> object:
    return parse_spec(
        {
            "answer_after": answer_after,
            "dimensions": [
                {"name": "answer", "grader": grader},
                {"name": "length", "grader": "length", "params": {"target": 1000, "max": 2000}},
            ],
        }
    )


@pytest.mark.parametrize("grader", ["math", "numeric", "exact"])
@pytest.mark.parametrize(
    ("response", "status", "credit"),
    [
        ("<think>maybe 3? #### 3</think>\n#### 2", Status.OK, 1.0),
        ("<think>it is 2: #### 2</think>\n#### 3", Status.OK, 0.0),
        ("<think>it is 2: #### 2</think>\nno declaration", Status.UNSCORABLE, 0.0),
        ("<think>so the answer is #### 2", Status.UNSCORABLE, 0.0),  # truncated reasoning
        ("#### 2", Status.UNSCORABLE, 0.0),  # no delimiter at all
        ("<think>a</think> #### 5 </think>\n#### 2", Status.OK, 1.0),  # the last delimiter counts
    ],
)
def test_answer_after_reads_what_follows_the_reasoning(grader: str, response: str, status, credit) -> None:
    spec = spec_with("</think>", grader)
    grade = grade_sample(spec, Sample(id="s", index=0, response=response, reference="2"))[0]
    assert (grade.status, grade.score) == (status, credit), grade.reason


def test_answer_after_leaves_graders_that_do_not_read_the_answer_alone() -> None:
    spec = spec_with("</think>")
    grades = grade_dimensions(spec, Sample(id="s", index=0, response="#### 2", reference="2"), [0, 1])
    assert grades[0].status is Status.UNSCORABLE and "</think>" in grades[0].reason
    assert grades[1].status is Status.OK  # length sees the whole response


def test_answer_after_applies_to_choice_with_labels() -> None:
    spec = parse_spec(
        {
            "answer_after": "</reasoning>",
            "dimensions": [
                {
                    "name": "label",
                    "grader": "choice",
                    "params": {"labels": ["yes", "no"], "answer_pattern": r"Verdict:\s*(\w+)"},
                }
            ],
        }
    )
    grade = grade_sample(
        spec, Sample(id="s", index=0, response="Verdict: no</reasoning>Verdict: yes", reference="yes")
    )
    assert grade[0].score == 1.0
    truncated = grade_sample(spec, Sample(id="s", index=0, response="Verdict: yes", reference="yes"))
    assert truncated[0].status is Status.UNSCORABLE


def test_answer_after_must_not_be_blank() -> None:
    with pytest.raises(SpecError, match="answer_after"):
        parse_spec({"answer_after": "  ", "dimensions": [{"name": "a", "grader": "math"}]})


def test_answer_after_survives_the_worker_round_trip() -> None:
    from reward.workers import spec_table

    spec = spec_with("</think>")
    assert parse_spec(spec_table(spec)).answer_after == "</think>"


def test_after_delimiter() -> None:
    assert after_delimiter("a</think>b</think>c", "</think>") == "c"
    assert after_delimiter("abc", "</think>") is None


def test_a_phrase_around_a_box_is_not_a_second_declaration() -> None:
    found = declared_answers(r"The final answer is $\boxed{18}$.")
    assert [d.marker for d in found] == ["boxed"]


def test_a_custom_grader_opts_in_to_answer_after() -> None:
    def spec_for(reads_answer: bool) -> object:
        params = {"function": "examples_custom_reward:cites_rule", "reads_answer": reads_answer}
        return parse_spec(
            {"answer_after": "</think>", "dimensions": [{"name": "c", "grader": "custom", "params": params}]}
        )

    no_delimiter = Sample(id="s", index=0, response="no reasoning tags here", reference={"rule": "R1"})
    assert grade_sample(spec_for(True), no_delimiter)[0].status is Status.UNSCORABLE
    assert "</think>" not in grade_sample(spec_for(False), no_delimiter)[0].reason


def test_answer_after_applies_to_batched_graders_too() -> None:
    """Batched graders (code, judge) are handed the whole batch: the runner cuts their samples the same way."""
    from dataclasses import replace

    from reward.graders.base import Grader
    from reward.results import Grade
    from reward.runner import grade_batch

    seen: list[str] = []

    class Echo(Grader):
        name = "echo"
        batched = True
        reads_answer = True

        def grade_many(self, samples, deadline):
            seen.extend(s.response for s in samples)
            return [Grade.right() for _ in samples]

    spec = parse_spec({"answer_after": "</think>", "dimensions": [{"name": "a", "grader": "length"}]})
    spec = replace(spec, graders=(Echo(None),))
    samples = [
        Sample(id="1", index=0, response="<think>x</think>answer one", reference="r"),
        Sample(id="2", index=1, response="<think>cut off", reference="r"),
    ]
    grades = grade_batch(spec, samples)
    assert seen == ["answer one"]
    assert grades[0][0].score == 1.0
    assert grades[1][0].status is Status.UNSCORABLE and "</think>" in grades[1][0].reason
