"""``custom``: a user's ``(sample, options)`` function under lambda_src/, loaded and checked at spec load."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import reward
from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.graders.custom import CODE_ROOT, as_grade
from reward.results import Grade, Status
from reward.spec import SpecError, parse_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """Write a module with a unique name into a temporary directory on sys.path; return its name."""
    counter = iter(range(1000))

    def write(body: str) -> str:
        name = f"user_grader_{tmp_path.name.replace('-', '_')}_{next(counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    return write


def grade(function, response="some answer", options=None, **extra):
    grader = grader_class("custom").from_params({"function": function, "options": options or {}, **extra})
    return grader.grade(
        Sample(id="x", index=0, response=response, reference={"answer": "a"}, metadata={"rule": "R2"})
    )


def test_code_root_is_lambda_src():
    assert Path(reward.__file__).resolve().parents[1] == CODE_ROOT == ROOT / "lambda_src"


def test_the_worked_example_grades_a_json_explanation():
    ok = json.dumps({"compliant": "No", "explanation": "This breaks R2."})
    assert grade("examples_custom_reward:cites_rule", ok).score == 1.0
    both = json.dumps({"compliant": "No", "explanation": "This breaks R2 and R4."})
    assert grade("examples_custom_reward:cites_rule", both).score == 0.5
    assert grade("examples_custom_reward:cites_rule", "no json").status is Status.UNSCORABLE


def test_return_types_become_grades(user_module):
    name = user_module(
        """
        from reward.results import Grade
        def number(sample, options): return options["value"]
        def flag(sample, options): return sample.response == "yes"
        def grade(sample, options): return Grade.partial(0.25, "quarter")
        def boom(sample, options): raise KeyError("nope")
        def text(sample, options): return "1.0"
        """
    )
    assert grade(f"{name}:number", options={"value": 0.7}).score == pytest.approx(0.7)
    assert grade(f"{name}:number", options={"value": 1}).score == 1.0
    for bad in (1.5, -0.1, float("nan")):
        assert grade(f"{name}:number", options={"value": bad}).status is Status.ERROR
    assert grade(f"{name}:flag", "yes").score == 1.0 and grade(f"{name}:flag", "no").score == 0.0
    assert grade(f"{name}:grade").reason == "quarter"
    g = grade(f"{name}:boom")
    assert g.status is Status.ERROR and "KeyError" in g.reason
    assert grade(f"{name}:text").status is Status.ERROR


def test_empty_response_never_reaches_the_function(user_module):
    name = user_module("def always(sample, options): return 1.0\n")
    for response in ("", "  ", ":", None):
        assert grade(f"{name}:always", response).status is Status.UNSCORABLE


def test_options_are_passed_through_and_flags_set(user_module):
    name = user_module("def echo(sample, options): return options['nested']['x']\n")
    grader = grader_class("custom").from_params(
        {
            "function": f"{name}:echo",
            "options": {"nested": {"x": 0.5}},
            "needs_reference": True,
            "heavy": True,
        }
    )
    assert grader.needs_reference is True and grader.heavy is True
    assert grader.grade(Sample(id="x", index=0, response="r")).score == 0.5


@pytest.mark.parametrize(
    "body,target,needle",
    [
        ("", "no_colon", "module:function"),
        ("", "does_not_exist_anywhere:f", "cannot import module"),
        ("def f(sample, options): return 1\n", "{name}:g", "has no function 'g'"),
        ("def f(sample): return 1\n", "{name}:f", "must accept (sample, options)"),
        ("def f(sample, options:\n", "{name}:f", "SyntaxError"),
        ("raise RuntimeError('import side effect failed')\n", "{name}:f", "RuntimeError"),
        ("f = 3\n", "{name}:f", "has no function"),
    ],
)
def test_load_errors_are_param_errors_on_function(user_module, body, target, needle):
    name = user_module(body)
    with pytest.raises(ParamError) as info:
        grader_class("custom").from_params({"function": target.format(name=name)})
    assert info.value.key == "function" and needle in str(info.value)


def test_spec_load_names_the_dimension_and_param():
    data = {"dimensions": [{"name": "mine", "grader": "custom", "params": {"function": "nope_module:f"}}]}
    with pytest.raises(SpecError) as info:
        parse_spec(data, Path("my.toml"))
    assert "dimensions[0] (mine).params.function" in str(info.value)


def test_as_grade_accepts_grades_bools_and_numbers():
    assert as_grade(True).score == 1.0 and as_grade(0).score == 0.0
    assert as_grade(Grade.unscorable("x")).status is Status.UNSCORABLE
    assert as_grade(None).status is Status.ERROR
