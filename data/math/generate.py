#!/usr/bin/env python3
"""Generate the math sample dataset (for ``reward_specs/math.toml``): short algebra problems with
symbolic reference answers, some in LaTeX (``\\frac{7}{12}``, ``3\\sqrt{2}``, ``\\{-2, 5\\}``,
``(-\\infty, 4)``) and some plain (``12``, ``7/3``, ``x^2 + 5x + 6``).

    python data/math/generate.py            # rewrite train.jsonl and validation.jsonl next to this file
    python data/math/generate.py --out DIR  # write them into DIR instead
    python data/math/generate.py --check    # exit 1 if the committed files differ from a fresh run

Deterministic (a seeded ``random.Random``; no network, no clock). Every answer is computed from the
numbers put into the problem, never typed in. Standard library only.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

SEED = 20251204
TRAIN_ROWS = 160
VALIDATION_ROWS = 100
SYSTEM_PROMPT = "You are a careful mathematician. Reason step by step and check your work."
INSTRUCTION = "Show your work, then give the final answer as \\boxed{<answer>} on the last line."

Problem = tuple[str, str]  # (question, reference answer)


def latex_fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def plain_fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def poly(coefficients: list[int], var: str = "x") -> str:
    """A polynomial from coefficients, highest degree first: [1, 5, 6] -> 'x^2 + 5x + 6'."""
    degree = len(coefficients) - 1
    terms: list[str] = []
    for k, c in enumerate(coefficients):
        power = degree - k
        if c == 0:
            continue
        magnitude = abs(c)
        body = var if power == 1 else f"{var}^{power}" if power else ""
        text = (str(magnitude) if magnitude != 1 or not body else "") + body
        if not terms:
            terms.append(("-" if c < 0 else "") + text)
        else:
            terms.append(("- " if c < 0 else "+ ") + text)
    return " ".join(terms) or "0"


def add_fractions(rng: random.Random) -> Problem:
    a, b = rng.randint(1, 9), rng.randint(2, 12)
    c, d = rng.randint(1, 9), rng.randint(2, 12)
    answer = Fraction(a, b) + Fraction(c, d)
    return f"Compute $\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}}$ in lowest terms.", latex_fraction(answer)


def solve_linear(rng: random.Random) -> Problem:
    a = rng.choice([2, 3, 4, 5, 6, 7, 9])
    b, c = rng.randint(-20, 20), rng.randint(-20, 20)
    answer = Fraction(c - b, a)
    return f"Solve for $x$: ${a}x {'+' if b >= 0 else '-'} {abs(b)} = {c}$.", plain_fraction(answer)


def quadratic_roots(rng: random.Random) -> Problem:
    r1, r2 = rng.sample(range(-9, 10), 2)
    r1, r2 = sorted((r1, r2))
    equation = poly([1, -(r1 + r2), r1 * r2])
    return (
        f"Find all real solutions of ${equation} = 0$. Give the solution set.",
        f"\\{{{r1}, {r2}\\}}",
    )


def simplify_sqrt(rng: random.Random) -> Problem:
    k = rng.randint(2, 9)
    m = rng.choice([2, 3, 5, 6, 7, 10, 11])
    return f"Simplify $\\sqrt{{{k * k * m}}}$.", f"{k}\\sqrt{{{m}}}"


def linear_inequality(rng: random.Random) -> Problem:
    a = rng.randint(2, 6)
    bound = rng.randint(-8, 8)
    b = rng.randint(-10, 10)
    c = a * bound + b
    return (
        f"Solve ${a}x {'+' if b >= 0 else '-'} {abs(b)} < {c}$. Write the solution as an interval.",
        f"(-\\infty, {bound})",
    )


def expand_product(rng: random.Random) -> Problem:
    a, b = rng.randint(-9, 9), rng.randint(-9, 9)
    first = poly([1, a]) if a else "x"
    second = poly([1, b]) if b else "x"
    return f"Expand $({first})({second})$.", poly([1, a + b, a * b])


def derivative(rng: random.Random) -> Problem:
    coefficients = [rng.randint(-5, 5) or 1 for _ in range(4)]
    derived = [3 * coefficients[0], 2 * coefficients[1], coefficients[2]]
    return f"Differentiate $f(x) = {poly(coefficients)}$. What is $f'(x)$?", poly(derived)


def gcd_lcm(rng: random.Random) -> Problem:
    a, b = rng.randint(12, 120), rng.randint(12, 120)
    if rng.random() < 0.5:
        return f"What is the greatest common divisor of {a} and {b}?", str(math.gcd(a, b))
    return f"What is the least common multiple of {a} and {b}?", str(a * b // math.gcd(a, b))


def decimal_probability(rng: random.Random) -> Problem:
    red, blue = rng.randint(1, 9), rng.randint(1, 9)
    answer = Fraction(red, red + blue)
    return (
        f"A bag holds {red} red and {blue} blue marbles. One is drawn at random. What is the probability "
        f"that it is red? Give a fraction in lowest terms.",
        latex_fraction(answer),
    )


TEMPLATES: tuple[Callable[[random.Random], Problem], ...] = (
    add_fractions,
    solve_linear,
    quadratic_roots,
    simplify_sqrt,
    linear_inequality,
    expand_product,
    derivative,
    gcd_lcm,
    decimal_probability,
)


def record(question: str, answer: str, task_id: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{question} {INSTRUCTION}"},
        ],
        "reference_answer": {"final_answer": answer},
        "task_id": task_id,
        "domain": "math",
    }


def build() -> dict[str, list[dict]]:
    """The dataset files' rows, by file name."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[tuple[str, str]] = []
    turn = 0
    while len(rows) < TRAIN_ROWS + VALIDATION_ROWS:
        question, answer = TEMPLATES[turn % len(TEMPLATES)](rng)
        turn += 1
        if question in seen:
            continue
        seen.add(question)
        rows.append((question, answer))
    train = [record(q, a, f"math-sample-train-{i + 1:04d}") for i, (q, a) in enumerate(rows[:TRAIN_ROWS])]
    validation = [
        record(q, a, f"math-sample-validation-{i + 1:04d}") for i, (q, a) in enumerate(rows[TRAIN_ROWS:])
    ]
    return {"train.jsonl": train, "validation.jsonl": validation}


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
