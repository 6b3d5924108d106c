#!/usr/bin/env python3
"""Generate the sample Nova RFT dataset: GSM8K-style arithmetic word problems with computed answers.

    python data/sample/generate.py            # rewrite train.jsonl and validation.jsonl next to this file
    python data/sample/generate.py --out DIR  # write them into DIR instead
    python data/sample/generate.py --check    # exit 1 if the committed files differ from a fresh run

Deterministic: a seeded ``random.Random`` and nothing else (no network, no clock), so a run always
rewrites both files byte for byte. Every answer is computed with exact fractions from the numbers put
into the problem, never typed in. Training and validation prompts never overlap, and no prompt repeats.
Standard library only.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

SEED = 20251203  # any fixed integer; changing it changes every problem
TRAIN_ROWS = 250
VALIDATION_ROWS = 120
SYSTEM_PROMPT = "You are a careful math tutor. Solve the problem step by step and check your arithmetic."
INSTRUCTION = "Show your work, then give the final answer on the last line as: #### <answer>"

NAMES = (
    ("Maya", "she", "her"),
    ("Liam", "he", "his"),
    ("Sofia", "she", "her"),
    ("Noah", "he", "his"),
    ("Aisha", "she", "her"),
    ("Mateo", "he", "his"),
    ("Priya", "she", "her"),
    ("Kenji", "he", "his"),
    ("Olivia", "she", "her"),
    ("Ethan", "he", "his"),
    ("Amara", "she", "her"),
    ("Lucas", "he", "his"),
    ("Zoe", "she", "her"),
    ("Omar", "he", "his"),
    ("Hana", "she", "her"),
    ("Diego", "he", "his"),
)
ITEMS = ("notebooks", "pens", "mugs", "bags of rice", "packs of cards", "candles", "books", "plants")
VEHICLES = ("train", "bus", "truck", "car", "ferry")
TREATS = ("cookies", "cupcakes", "muffins", "brownies", "dumplings")
CLOTHES = ("jacket", "pair of shoes", "backpack", "sweater", "lamp", "bicycle helmet")
PURCHASES = ("video game", "skateboard", "pair of headphones", "board game", "watch")
CROPS = (("tomato", "tomatoes"), ("pepper", "peppers"), ("strawberry", "strawberries"), ("bean", "beans"))
SUBJECTS = ("math", "science", "history", "spelling")
CONTAINERS = ("tank", "pool", "barrel", "fountain")
FRUITS = (("apples", "oranges"), ("pears", "peaches"), ("lemons", "limes"), ("bananas", "mangoes"))


def money(value: Fraction) -> str:
    """A dollar amount as a shopper writes it: $3, $2.75."""
    whole_cents = value * 100
    if whole_cents.denominator != 1:
        raise ValueError(f"{value} is not a whole number of cents")
    dollars, rest = divmod(whole_cents.numerator, 100)
    return f"${dollars}" if rest == 0 else f"${dollars}.{rest:02d}"


def cents(rng: random.Random, low: int, high: int, step: int = 5) -> Fraction:
    """A random price between low and high cents, in steps of ``step`` cents, as exact dollars."""
    return Fraction(rng.randrange(low, high + 1, step), 100)


def format_answer(value: Fraction) -> str:
    """The answer as GSM8K writes it: an integer, or a short decimal (2.5, 12.75)."""
    if value.denominator == 1:
        return str(value.numerator)
    if 100 % value.denominator:
        raise ValueError(f"{value} has no short decimal form")
    whole = value * 100
    return f"{whole.numerator // 100}.{whole.numerator % 100:02d}".rstrip("0")


# Each template returns (problem text, exact answer). The wording of each template is distinct, and the
# numbers appear in the text in the order the answer's formula uses them (tests recompute the answers
# from the text alone).
Template = Callable[[random.Random], tuple[str, Fraction]]


def shopping_change(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    count, price = rng.randint(2, 9), cents(rng, 75, 1250, 25)
    bill = next(b for b in (10, 20, 50, 100) if b > count * price)
    text = (
        f"{name} buys {count} {rng.choice(ITEMS)} at {money(price)} each and pays with a ${bill} bill. "
        f"How much change, in dollars, does {she} get?"
    )
    return text, bill - count * price


def two_leg_trip(rng: random.Random) -> tuple[str, Fraction]:
    speed1, speed2 = rng.sample(range(30, 121, 5), 2)
    hours1, hours2 = rng.randint(2, 6), rng.randint(1, 4)
    text = (
        f"A {rng.choice(VEHICLES)} travels at {speed1} km per hour for {hours1} hours, then at {speed2} km per "
        f"hour for {hours2} hours. How many kilometers does it travel in total?"
    )
    return text, Fraction(speed1 * hours1 + speed2 * hours2)


def ages(rng: random.Random) -> tuple[str, Fraction]:
    (older, _, _), (younger, _, _) = rng.sample(NAMES, 2)
    times, age, years = rng.randint(2, 5), rng.randint(3, 14), rng.randint(2, 12)
    text = (
        f"{older} is {times} times as old as {younger}. {younger} is {age} years old. "
        f"How old will {older} be in {years} years?"
    )
    return text, Fraction(times * age + years)


def sharing(rng: random.Random) -> tuple[str, Fraction]:
    name, _, _ = rng.choice(NAMES)
    friends, each, eaten = rng.randint(3, 9), rng.randint(3, 12), rng.randint(1, 6)
    total = friends * each + eaten
    text = (
        f"{name} bakes {total} {rng.choice(TREATS)}, eats {eaten} of them, and shares the rest equally "
        f"among {friends} friends. How many does each friend get?"
    )
    return text, Fraction(total - eaten, friends)


def wages(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    rate, hours, days = cents(rng, 900, 2500, 25), rng.randint(3, 8), rng.randint(2, 6)
    text = (
        f"{name} earns {money(rate)} per hour. {she.capitalize()} works {hours} hours a day for {days} days. "
        f"How many dollars does {she} earn in total?"
    )
    return text, rate * hours * days


def savings(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    weekly, weeks = rng.randint(5, 30), rng.randint(4, 12)
    spent = rng.randint(10, weekly * weeks - 1)
    text = (
        f"{name} saves ${weekly} every week. After {weeks} weeks, {she} spends ${spent} on a "
        f"{rng.choice(PURCHASES)}. How many dollars does {she} have left?"
    )
    return text, Fraction(weekly * weeks - spent)


def discount(rng: random.Random) -> tuple[str, Fraction]:
    price, percent = rng.randint(12, 240), rng.randrange(5, 76, 5)
    text = (
        f"A {rng.choice(CLOTHES)} costs ${price}. It is on sale for {percent}% off. "
        "What is the sale price in dollars?"
    )
    return text, Fraction(price * (100 - percent), 100)


def harvest(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    while True:
        rows, per_row, each = rng.randint(3, 12), rng.randint(4, 15), rng.randint(2, 9)
        sizes = [size for size in (4, 5, 6, 8, 10, 12) if rows * per_row * each % size == 0]
        if sizes:
            break
    (crop, crops), bag = rng.choice(CROPS), rng.choice(sizes)
    text = (
        f"{name} plants {rows} rows of {per_row} {crop} plants. Each plant gives {each} {crops}. "
        f"{she.capitalize()} packs them in bags of {bag}. How many bags does {she} fill?"
    )
    return text, Fraction(rows * per_row * each, bag)


def average(rng: random.Random) -> tuple[str, Fraction]:
    name, _, her = rng.choice(NAMES)
    scores = [rng.randint(55, 100) for _ in range(4)]
    text = (
        f"{name} scored {scores[0]}, {scores[1]}, {scores[2]} and {scores[3]} on four "
        f"{rng.choice(SUBJECTS)} tests. What is {her} average score?"
    )
    return text, Fraction(sum(scores), 4)


def unit_price(rng: random.Random) -> tuple[str, Fraction]:
    item = rng.choice(ITEMS)
    unit = cents(rng, 50, 600, 5)
    count, wanted = rng.sample(range(2, 13), 2)
    text = (
        f"{count} {item} cost {money(unit * count)} in total. At the same price each, how many dollars do "
        f"{wanted} {item} cost?"
    )
    return text, unit * wanted


def fill_time(rng: random.Random) -> tuple[str, Fraction]:
    rate = rng.choice((2, 4, 5, 8, 10, 20, 25))
    capacity = rng.randrange(40, 601, 10)
    text = (
        f"A {rng.choice(CONTAINERS)} holds {capacity} liters. A hose fills it at {rate} liters per minute. "
        "How many minutes does it take to fill it from empty?"
    )
    return text, Fraction(capacity, rate)


def reading(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    per_day, days = rng.randint(8, 40), rng.randint(3, 14)
    pages = per_day * days + rng.randint(5, 200)
    text = (
        f"A book has {pages} pages. {name} reads {per_day} pages a day for {days} days. "
        f"How many pages does {she} still have to read?"
    )
    return text, Fraction(pages - per_day * days)


def bus(rng: random.Random) -> tuple[str, Fraction]:
    while True:
        start, off, on = rng.randint(20, 60), rng.randint(2, 15), rng.randint(1, 15)
        if (start - off + on) % 2 == 0:
            break
    text = (
        f"A bus leaves the station with {start} passengers. At the first stop, {off} people get off and "
        f"{on} get on. At the second stop, half of the passengers get off. "
        "How many passengers are still on the bus?"
    )
    return text, Fraction(start - off + on, 2)


def fruit_stand(rng: random.Random) -> tuple[str, Fraction]:
    name, she, _ = rng.choice(NAMES)
    first, second = rng.choice(FRUITS)
    price1, price2 = cents(rng, 20, 120, 5), cents(rng, 20, 120, 5)
    count1, count2 = rng.randint(2, 12), rng.randint(2, 12)
    text = (
        f"A fruit stand sells {first} for {money(price1)} each and {second} for {money(price2)} each. "
        f"{name} buys {count1} {first} and {count2} {second}. How many dollars does {she} spend?"
    )
    return text, count1 * price1 + count2 * price2


TEMPLATES: tuple[Template, ...] = (
    shopping_change,
    two_leg_trip,
    ages,
    sharing,
    wages,
    savings,
    discount,
    harvest,
    average,
    unit_price,
    fill_time,
    reading,
    bus,
    fruit_stand,
)


def make_rows(split: str, count: int, rng: random.Random, seen: set[str]) -> list[dict[str, object]]:
    """``count`` rows whose prompts are not in ``seen`` (which is updated), cycling through templates."""
    rows: list[dict[str, object]] = []
    while len(rows) < count:
        template = TEMPLATES[len(rows) % len(TEMPLATES)]
        problem, answer = template(rng)
        if problem in seen:
            continue
        seen.add(problem)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": f"{problem} {INSTRUCTION}"},
                ],
                "reference_answer": {"final_answer": format_answer(answer)},
                "task_id": f"gsm-sample-{split}-{len(rows) + 1:04d}",
                "domain": "math",
            }
        )
    return rows


def build() -> dict[str, list[dict[str, object]]]:
    """The dataset files' rows, by file name."""
    seen: set[str] = set()
    # Training first; validation draws from its own stream and skips every training prompt.
    train = make_rows("train", TRAIN_ROWS, random.Random(SEED), seen)
    validation = make_rows("validation", VALIDATION_ROWS, random.Random(SEED + 1), seen)
    return {"train.jsonl": train, "validation.jsonl": validation}


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
