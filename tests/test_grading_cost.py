"""Every grader's cost grows at most linearly with the response: measured in operations, not time.

Cost = Python bytecode instructions executed inside the reward library (``sys.settrace`` with opcode
events), which is deterministic: the same input costs the same count on a loaded or an idle machine.
Each hostile family is graded at length n and 4n; a linear grader costs at most about 4x (plus a
constant). Before the fix, ``answers.balanced_content`` rescanned to the end of the text for every
unclosed ``\\boxed{`` (16x for 4x the text). Work done inside C (regular expressions) is not counted
by opcodes: the extractors' patterns are linear by construction (docs/time-limits.md lists them), and
the sizes test below bounds the text they hand on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from reward.answers import MARKERS, declared_answers
from reward.event import Message, Sample
from reward.graders import grader_class

LIBRARY = str(Path(__file__).resolve().parents[1] / "lambda_src" / "reward")

#: Light graders with the parameters a spec would give them (defaults where they have them).
GRADERS: dict[str, dict[str, Any]] = {
    "choice": {},
    "exact": {},
    "format": {"final_line": ".*\\\\boxed\\{.+\\}.*", "once": ["\\boxed", "####"]},
    "json": {},
    "length": {"unit": "tokens", "target": 300, "max": 1500},
    "numeric": {},
    "regex": {"must_match": ["[0-9]+"], "must_not_match": ["sorry"]},
    "similarity": {},
    "terms": {"required": ["answer"], "forbidden": ["sorry"]},
}

#: Responses built to make a naive scanner rescan: each is ``n`` characters or so.
HOSTILE: dict[str, Callable[[int], str]] = {
    "unclosed boxed": lambda n: "\\boxed{" * (n // 7),
    "nested boxed": lambda n: "\\boxed{" * (n // 14) + "}" * (n // 14),
    "many boxed": lambda n: "\\boxed{1} " * (n // 10),
    "unclosed braces": lambda n: "{" * n,
    "closing braces first": lambda n: "}" * (n // 2) + "{" * (n // 2),
    "spaces after hashes": lambda n: "#### " + " " * n + "x",
    "many hashes": lambda n: "#### 1\n" * (n // 7),
    "final answer dots": lambda n: "final answer: " + "." * n,
    "many final answers": lambda n: "The final answer is 1. " * (n // 23),
    "answer is": lambda n: "the answer is " + "1." * (n // 2),
    "signs and spaces": lambda n: "- " * (n // 2),
    "digits with commas": lambda n: "1," * (n // 2),
    "fractions": lambda n: "\\frac{" * (n // 6),
    "json brackets": lambda n: "[" * n,
    "json objects": lambda n: '{"a":' * (n // 5),
    "fenced blocks": lambda n: "```json\n{}\n```\n" * (n // 15),
    "option letters": lambda n: "(A) " * (n // 4),
}
N = 1_000


def ops(fn: Callable[[], Any]) -> int:
    """Bytecode instructions ``fn`` executes inside the reward library."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "opcode":
            count += 1
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.startswith(LIBRARY):
            frame.f_trace_opcodes = True
            return local
        return None

    sys.settrace(global_)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def sample(response: str) -> Sample:
    return Sample(
        "s",
        0,
        (Message("user", "What is 10 + 8? Options: (A) 17 (B) 18"),),
        response,
        {"final_answer": "18", "answer": "B"},
    )


def linear(small: int, large: int) -> bool:
    """4x the input may cost 4x the operations, with slack for per-call constants."""
    return large <= 4.5 * small + 5_000


@pytest.mark.parametrize("name", sorted(GRADERS))
def test_each_grader_is_linear_in_the_response(name):
    grader = grader_class(name).from_params(GRADERS[name])
    superlinear = []
    for family, make in HOSTILE.items():
        small = ops(lambda make=make: grader.grade(sample(make(N))))
        large = ops(lambda make=make: grader.grade(sample(make(4 * N))))
        if not linear(small, large):
            superlinear.append(f"{family}: {small:,} ops at {N:,} chars, {large:,} at {4 * N:,}")
    assert not superlinear, f"{name} grader is super-linear:\n" + "\n".join(superlinear)


def test_math_extraction_is_linear_in_the_response():
    """The math grader's own part (extraction and the hedging rules before math-verify; math-verify
    itself runs in a worker that is killed at the sample budget)."""
    superlinear = []
    for family, make in HOSTILE.items():
        small = ops(lambda make=make: declared_answers(make(N), MARKERS))
        large = ops(lambda make=make: declared_answers(make(4 * N), MARKERS))
        if not linear(small, large):
            superlinear.append(f"{family}: {small:,} ops, then {large:,}")
    assert not superlinear, "\n".join(superlinear)


@pytest.mark.parametrize("family", sorted(HOSTILE))
def test_declared_answers_hand_on_at_most_a_few_times_the_text(family):
    """Sizes: what the extractors pass on (to the number scanner, to math-verify) is bounded by the
    text, so nested boxes cannot turn n characters into n^2 of declarations."""
    text = HOSTILE[family](4 * N)
    declared = declared_answers(text, MARKERS)
    assert sum(len(d.text) for d in declared) <= 3 * len(text) + 100


def test_the_measure_catches_a_quadratic_scan():
    """Proof the check can fail: the old per-box rescan is quadratic in this measure."""
    from reward.answers import balanced_content

    def rescan_every_box(text: str) -> None:
        for start in range(7, len(text), 7):
            balanced_content(text, start)

    small = ops(lambda: rescan_every_box(HOSTILE["unclosed boxed"](N)))
    large = ops(lambda: rescan_every_box(HOSTILE["unclosed boxed"](4 * N)))
    assert not linear(small, large)
