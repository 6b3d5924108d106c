"""Generate the code-generation sample dataset: small invented Python tasks with reference solutions.

    python data/code/generate.py [--out DIR]   # writes train.jsonl and validation.jsonl (deterministic)

Twelve task families (four per reference format: function, program, assert-style), each instantiated
with different parameters so every prompt is distinct. Every row carries a reference ``solution`` whose
outputs *are* the expected values (computed here by running it on the inputs), and its tests hold more
cases than the two examples the prompt shows, so hard-coding the visible examples fails.
``tests/test_code_data.py`` checks that each solution passes its own tests in the sandbox.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20260613
PER_FAMILY = 20
N_TESTS = 7
SHOWN = 2
SYSTEM = (
    "You are a careful Python programmer. Answer with a short explanation and the complete solution in "
    "one ```python code block. Use only the standard library."
)


def _run(solution: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(solution, "<solution>", "exec"), namespace)  # our own reference code, not a model's
    return namespace[name]


# --- function tasks: entry_point + tests(args, kwargs, expected) ----------------------------------


def f_scaled_clip(rng: random.Random, k: int) -> dict[str, Any]:
    factor, low, high = rng.randint(2, 6), rng.randint(-20, 0), rng.randint(10, 40)
    name = f"scale_clip_{k}"
    text = (
        f"Write a Python function `{name}(values)` that multiplies every integer in the list `values` by "
        f"{factor} and clips each result to the range [{low}, {high}] (values below {low} become {low}, "
        f"above {high} become {high}). Return the new list; do not modify the input."
    )
    solution = f"def {name}(values):\n    return [min({high}, max({low}, v * {factor})) for v in values]\n"
    inputs = [([rng.randint(-15, 15) for _ in range(rng.randint(0, 7))],) for _ in range(N_TESTS)]
    return _function(name, text, solution, inputs)


def f_count_multiples(rng: random.Random, k: int) -> dict[str, Any]:
    a, b = rng.sample(range(2, 12), 2)
    name = f"count_multiples_{a}_{b}_{k}"
    text = (
        f"Write a Python function `{name}(n)` that returns how many integers from 1 to n inclusive are "
        f"divisible by {a} or by {b} (or both). For n < 1 return 0."
    )
    solution = f"def {name}(n):\n    return sum(1 for i in range(1, n + 1) if i % {a} == 0 or i % {b} == 0)\n"
    inputs = [(n,) for n in [0, 1] + [rng.randint(2, 400) for _ in range(N_TESTS - 2)]]
    rng.shuffle(inputs)
    return _function(name, text, solution, inputs)


def f_shift_letters(rng: random.Random, k: int) -> dict[str, Any]:
    shift = rng.randint(1, 25)
    name = f"shift_letters_{k}"
    text = (
        f"Write a Python function `{name}(text)` that shifts every lowercase ASCII letter of `text` "
        f"{shift} places forward in the alphabet, wrapping from 'z' to 'a'. Every other character is "
        "unchanged. Return the new string."
    )
    solution = (
        f"def {name}(text):\n"
        "    out = []\n"
        "    for ch in text:\n"
        "        if 'a' <= ch <= 'z':\n"
        f"            ch = chr((ord(ch) - 97 + {shift}) % 26 + 97)\n"
        "        out.append(ch)\n"
        "    return ''.join(out)\n"
    )
    alphabet = string.ascii_lowercase + string.ascii_uppercase + " .,!0123456789"
    inputs = [("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))),) for _ in range(N_TESTS)]
    return _function(name, text, solution, inputs)


def f_window_sum(rng: random.Random, k: int) -> dict[str, Any]:
    width = rng.randint(2, 4)
    name = f"best_window_{k}"
    text = (
        f"Write a Python function `{name}(values)` that returns the largest sum of {width} consecutive "
        f"integers of the list `values`, together with the index where that window starts, as a list "
        f"[sum, index]; on ties use the smallest index. If the list has fewer than {width} items, return None."
    )
    solution = (
        f"def {name}(values):\n"
        f"    if len(values) < {width}:\n"
        "        return None\n"
        "    best = None\n"
        f"    for i in range(len(values) - {width} + 1):\n"
        f"        total = sum(values[i:i + {width}])\n"
        "        if best is None or total > best[0]:\n"
        "            best = [total, i]\n"
        "    return best\n"
    )
    inputs = [([rng.randint(-9, 9) for _ in range(rng.randint(width - 1, 9))],) for _ in range(N_TESTS)]
    return _function(name, text, solution, inputs)


def _function(name: str, text: str, solution: str, inputs: list[tuple[Any, ...]]) -> dict[str, Any]:
    fn = _run(solution, name)
    tests = [
        {"args": list(args), "kwargs": {}, "expected": fn(*json.loads(json.dumps(args)))} for args in inputs
    ]
    shown = "\n".join(
        f"    {name}({', '.join(json.dumps(a) for a in t['args'])}) returns {json.dumps(t['expected'])}"
        for t in tests[:SHOWN]
    )
    prompt = f"{text}\n\nExamples:\n{shown}"
    return {"prompt": prompt, "reference": {"entry_point": name, "tests": tests, "solution": solution}}


# --- program tasks: tests(stdin, stdout) -----------------------------------------------------------


def p_threshold(rng: random.Random, k: int) -> dict[str, Any]:
    threshold = rng.randint(-5, 30)
    text = (
        "Write a Python program that reads one line of space-separated integers from standard input and "
        f"prints two lines: how many of them are greater than {threshold}, then the sum of those numbers "
        "(0 when there are none)."
    )
    solution = (
        "values = [int(x) for x in input().split()]\n"
        f"big = [v for v in values if v > {threshold}]\n"
        "print(len(big))\n"
        "print(sum(big))\n"
    )
    inputs = [
        " ".join(str(rng.randint(-20, 60)) for _ in range(rng.randint(1, 9))) + "\n" for _ in range(N_TESTS)
    ]
    return _program(text, solution, inputs, k)


def p_long_words(rng: random.Random, k: int) -> dict[str, Any]:
    length = rng.randint(3, 6)
    text = (
        "Write a Python program that reads text from standard input until the end of input and prints, one "
        f"per line and in order of appearance, every word longer than {length} letters in upper case. Words "
        "are separated by whitespace. Print nothing if there is none."
    )
    solution = (
        "import sys\n"
        "for word in sys.stdin.read().split():\n"
        f"    if len(word) > {length}:\n"
        "        print(word.upper())\n"
    )
    vocabulary = [
        "tree",
        "river",
        "stone",
        "a",
        "lantern",
        "sky",
        "harbor",
        "quiet",
        "moss",
        "orbit",
        "meadow",
        "ink",
        "compass",
        "fern",
        "thunder",
        "pebble",
        "lake",
        "cinder",
    ]
    inputs = [
        "\n".join(
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 5)))
            for _ in range(rng.randint(1, 3))
        )
        + "\n"
        for _ in range(N_TESTS)
    ]
    return _program(text, solution, inputs, k)


def p_staircase(rng: random.Random, k: int) -> dict[str, Any]:
    char = rng.choice("#*+@%=")
    step = rng.randint(1, 3)
    text = (
        "Write a Python program that reads an integer n (0 <= n <= 20) from standard input and prints a "
        f"staircase of n lines: line i (counting from 1) holds {step}*i copies of the character '{char}'."
    )
    solution = f"n = int(input())\nfor i in range(1, n + 1):\n    print('{char}' * ({step} * i))\n"
    inputs = [f"{n}\n" for n in [0, *rng.sample(range(1, 12), N_TESTS - 1)]]
    return _program(text, solution, inputs, k)


def p_grades(rng: random.Random, k: int) -> dict[str, Any]:
    cut = rng.randint(40, 70)
    text = (
        "Write a Python program that reads lines of the form `name score` from standard input until the end "
        f"of input, and prints the names of everyone whose score is at least {cut}, sorted alphabetically, "
        "one per line, followed by a last line `total: N` with how many there were."
    )
    solution = (
        "import sys\n"
        "names = []\n"
        "for line in sys.stdin:\n"
        "    parts = line.split()\n"
        "    if len(parts) == 2:\n"
        f"        if int(parts[1]) >= {cut}:\n"
        "            names.append(parts[0])\n"
        "for name in sorted(names):\n"
        "    print(name)\n"
        "print(f'total: {len(names)}')\n"
    )
    people = ["ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kai", "lu"]
    inputs = [
        "".join(f"{name} {rng.randint(0, 100)}\n" for name in rng.sample(people, rng.randint(0, 6)))
        for _ in range(N_TESTS)
    ]
    return _program(text, solution, inputs, k)


def _program(text: str, solution: str, inputs: list[str], k: int) -> dict[str, Any]:
    import contextlib
    import io

    tests = []
    for stdin in inputs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            _exec_main(solution, stdin)
        tests.append({"stdin": stdin, "stdout": out.getvalue()})
    shown = "\n\n".join(
        f"Example {n + 1} input:\n{_block(t['stdin'])}\nExample {n + 1} output:\n{_block(t['stdout'])}"
        for n, t in enumerate(tests[:SHOWN])
    )
    prompt = f"{text} (Task variant {k + 1}.)\n\n{shown}"
    return {"prompt": prompt, "reference": {"tests": tests, "solution": solution}}


def _exec_main(solution: str, stdin: str) -> None:
    import io
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        exec(compile(solution, "<solution>", "exec"), {"__name__": "__main__"})
    finally:
        sys.stdin = saved


def _block(text: str) -> str:
    return "```\n" + (text if text.endswith("\n") else text + "\n") + "```"


# --- assert-style tasks: test_code ----------------------------------------------------------------


def a_tribonacci(rng: random.Random, k: int) -> dict[str, Any]:
    modulus = rng.randint(7, 1000)
    seeds = [rng.randint(0, 3) for _ in range(3)]
    name = f"trib_mod_{k}"
    text = (
        f"Write a Python function `{name}(n)` returning the n-th term (n >= 0) of the sequence with "
        f"t(0)={seeds[0]}, t(1)={seeds[1]}, t(2)={seeds[2]} and t(n)=t(n-1)+t(n-2)+t(n-3), taken modulo {modulus}."
    )
    solution = (
        f"def {name}(n):\n"
        f"    a, b, c = {seeds[0]}, {seeds[1]}, {seeds[2]}\n"
        "    for _ in range(n):\n"
        f"        a, b, c = b, c, (a + b + c) % {modulus}\n"
        f"    return a % {modulus}\n"
    )
    args = [0, 1, 2, *rng.sample(range(3, 60), N_TESTS - 3)]
    rng.shuffle(args)
    return _asserts(name, text, solution, [(n,) for n in args])


def a_pairs_divisible(rng: random.Random, k: int) -> dict[str, Any]:
    divisor = rng.randint(2, 9)
    name = f"pairs_div_{k}"
    text = (
        f"Write a Python function `{name}(values)` that counts the index pairs i < j of the list `values` "
        f"whose sum values[i] + values[j] is divisible by {divisor}."
    )
    solution = (
        f"def {name}(values):\n"
        "    count = 0\n"
        "    for i in range(len(values)):\n"
        "        for j in range(i + 1, len(values)):\n"
        f"            if (values[i] + values[j]) % {divisor} == 0:\n"
        "                count += 1\n"
        "    return count\n"
    )
    inputs = [([rng.randint(-10, 30) for _ in range(rng.randint(0, 8))],) for _ in range(N_TESTS)]
    return _asserts(name, text, solution, inputs)


def a_balanced(rng: random.Random, k: int) -> dict[str, Any]:
    pairs = rng.sample(["()", "[]", "{}", "<>"], rng.randint(2, 3))
    name = f"balanced_{k}"
    listing = ", ".join(f"'{p[0]}' with '{p[1]}'" for p in pairs)
    text = (
        f"Write a Python function `{name}(text)` that returns True when the brackets in `text` are balanced "
        f"and properly nested, counting only these pairs: {listing}. Other characters are ignored."
    )
    opening = "".join(p[0] for p in pairs)
    closing = "".join(p[1] for p in pairs)
    solution = (
        f"def {name}(text):\n"
        f"    match = dict(zip({closing!r}, {opening!r}))\n"
        "    stack = []\n"
        "    for ch in text:\n"
        f"        if ch in {opening!r}:\n"
        "            stack.append(ch)\n"
        "        elif ch in match:\n"
        "            if not stack or stack.pop() != match[ch]:\n"
        "                return False\n"
        "    return not stack\n"
    )
    symbols = opening + closing + "ab "
    fn = _run(solution, name)
    inputs: list[tuple[Any, ...]] = []
    while len(inputs) < N_TESTS:  # half balanced, half not, so a constant answer fails
        want = len(inputs) % 2 == 0
        candidate = "".join(rng.choice(symbols) for _ in range(rng.randint(0, 10)))
        if want:
            p = rng.choice(pairs)
            candidate = p[0] + "".join(c for c in candidate if c not in opening + closing) + p[1]
        if bool(fn(candidate)) == want and (candidate,) not in inputs:
            inputs.append((candidate,))
    return _asserts(name, text, solution, inputs)


def a_digit_power(rng: random.Random, k: int) -> dict[str, Any]:
    power = rng.randint(2, 5)
    name = f"digit_power_{k}"
    text = (
        f"Write a Python function `{name}(n)` that returns the sum of the {power}-th powers of the decimal "
        "digits of the integer n (ignore a minus sign), as an int."
    )
    solution = f"def {name}(n):\n    return sum(int(d) ** {power} for d in str(abs(n)))\n"
    inputs = [(n,) for n in [0] + [rng.randint(-99999, 99999) for _ in range(N_TESTS - 1)]]
    return _asserts(name, text, solution, inputs)


def _asserts(name: str, text: str, solution: str, inputs: list[tuple[Any, ...]]) -> dict[str, Any]:
    fn = _run(solution, name)
    lines = [f"assert {name}({', '.join(repr(a) for a in args)}) == {fn(*args)!r}" for args in inputs]
    shown = "\n".join(lines[:SHOWN])
    prompt = f"{text}\n\nYour function must pass tests like these:\n```python\n{shown}\n```"
    return {
        "prompt": prompt,
        "reference": {"entry_point": name, "test_code": "\n".join(lines) + "\n", "solution": solution},
    }


FAMILIES = [
    ("function", f_scaled_clip),
    ("function", f_count_multiples),
    ("function", f_shift_letters),
    ("function", f_window_sum),
    ("program", p_threshold),
    ("program", p_long_words),
    ("program", p_staircase),
    ("program", p_grades),
    ("assert", a_tribonacci),
    ("assert", a_pairs_divisible),
    ("assert", a_balanced),
    ("assert", a_digit_power),
]


def rows() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for kind, family in FAMILIES:
        for k in range(PER_FAMILY):
            task = family(rng, k)
            out.append(
                {
                    "messages": [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": task["prompt"]},
                    ],
                    "reference_answer": task["reference"],
                    "task_id": f"code_{family.__name__}_{k}",
                    "domain": "code",
                    "format": kind,
                }
            )
    rng.shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE), help="output directory (default: this folder)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    everything = rows()
    half = len(everything) // 2
    for name, part in (("train.jsonl", everything[:half]), ("validation.jsonl", everything[half:])):
        with open(out / name, "w", encoding="utf-8", newline="\n") as handle:
            for row in part:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"wrote {len(part)} rows to {out / name}")


if __name__ == "__main__":
    main()
