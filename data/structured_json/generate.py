#!/usr/bin/env python3
"""Generate the structured-JSON sample dataset: marketing copy reviewed against a four-rule policy.

    python data/structured_json/generate.py            # rewrite train.jsonl and validation.jsonl here
    python data/structured_json/generate.py --out DIR  # write them into DIR instead
    python data/structured_json/generate.py --check    # exit 1 if the committed files differ from a fresh run

Each row asks for a JSON verdict on one piece of marketing copy. The reference answer is an object like
docs/contract.md's example, ``{"compliant": "No", "explanation": "..."}``, and the row's ``rule`` field
names the rule the copy breaks (``"none"`` for compliant copy; ``reward_specs/structured_json.toml``'s
custom dimension checks the explanation cites it). Verdicts are decided by construction: each template
either breaks exactly one rule or none. Deterministic (a seeded ``random.Random``, no clock, no
network) and standard library only.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

SEED = 20251204
TRAIN_ROWS = 200
VALIDATION_ROWS = 100
SYSTEM_PROMPT = (
    "You review marketing copy for policy compliance. Reply with a single JSON object and nothing else."
)
POLICY = (
    "Policy:\n"
    "R1. Do not promise guaranteed financial returns or call an investment risk-free.\n"
    "R2. Do not claim that a product cures, treats or prevents a disease.\n"
    "R3. Do not call something free when the customer must pay to receive it.\n"
    "R4. Do not claim to be the best, number one or clinically proven without naming the source."
)
INSTRUCTION = (
    'Answer with a JSON object with two keys: "compliant", either "Yes" or "No", and "explanation", '
    "one or two sentences that name the rule the copy breaks (for example R2), or say why it breaks none."
)

BRANDS = (
    "Northwind", "Brightleaf", "Cobalt", "Juniper", "Harbor", "Lumen", "Maple & Co", "Solstice",
    "Tidewater", "Verity", "Aster", "Kestrel", "Orchard", "Pinecrest", "Quill", "Redwood",
)  # fmt: skip
HERBS = ("ginger", "chamomile", "turmeric", "peppermint", "hibiscus", "green")
DISEASES = ("arthritis", "diabetes", "the flu", "high blood pressure", "insomnia", "migraines")
GIFTS = ("phone case", "travel mug", "yoga mat", "water bottle", "tote bag", "desk lamp")
CATEGORIES = ("coffee maker", "running shoe", "budgeting app", "mattress", "e-reader", "blender")
SOURCES = ("Consumer Digest", "the Home Gear Review", "Outdoor Monthly", "TechBench Labs")

Row = tuple[str, str, str]  # (copy, rule or "none", explanation)


def guaranteed_return(rng: random.Random) -> Row:
    brand, rate = rng.choice(BRANDS), rng.randint(6, 25)
    copy = rng.choice(
        (
            f"{brand} Invest: earn a guaranteed {rate}% return every year, completely risk-free.",
            f"With {brand} Wealth your savings grow {rate}% a year, guaranteed. You simply cannot lose.",
            f"Put $1,000 into the {brand} Growth Fund and we guarantee you will have ${1000 + rate * 10} next year.",
        )
    )
    explanation = "The copy promises a guaranteed return on an investment, which breaks R1."
    return copy, "R1", explanation


def disease_claim(rng: random.Random) -> Row:
    brand, herb, disease = rng.choice(BRANDS), rng.choice(HERBS), rng.choice(DISEASES)
    copy = rng.choice(
        (
            f"Drink {brand} {herb} tea every morning to cure {disease} naturally.",
            f"{brand} {herb} capsules treat {disease} in as little as two weeks.",
            f"Doctors hate it: {brand}'s {herb} blend prevents {disease} for good.",
        )
    )
    explanation = f"The copy claims the product cures, treats or prevents {disease}, which breaks R2."
    return copy, "R2", explanation


def paid_free(rng: random.Random) -> Row:
    brand, gift, fee = rng.choice(BRANDS), rng.choice(GIFTS), rng.randint(5, 19)
    copy = rng.choice(
        (
            f"Get a FREE {gift} from {brand}! Just pay ${fee}.99 shipping and handling.",
            f"Your free {brand} {gift} is waiting: add a ${fee} processing fee at checkout to claim it.",
        )
    )
    explanation = f"The copy calls the {gift} free although the customer must pay ${fee} or more to get it, which breaks R3."
    return copy, "R3", explanation


def unsourced_best(rng: random.Random) -> Row:
    brand, category = rng.choice(BRANDS), rng.choice(CATEGORIES)
    copy = rng.choice(
        (
            f"{brand} makes the #1 {category} in the country.",
            f"The {brand} {category}: clinically proven to be the best you can buy.",
            f"Nobody beats {brand}. It is simply the best {category} ever made.",
        )
    )
    explanation = (
        f"The copy claims the {category} is the best or number one without naming a source, which breaks R4."
    )
    return copy, "R4", explanation


def sourced_best(rng: random.Random) -> Row:
    brand, category, source, year = (
        rng.choice(BRANDS),
        rng.choice(CATEGORIES),
        rng.choice(SOURCES),
        rng.randint(2019, 2025),
    )
    copy = f"{brand}'s {category} was rated best in its class by {source} in {year}."
    explanation = f"The copy names {source} as the source of its best-in-class rating, so it breaks no rule."
    return copy, "none", explanation


def plain_investment(rng: random.Random) -> Row:
    brand, deposit = rng.choice(BRANDS), rng.choice((10, 25, 50, 100))
    copy = (
        f"{brand} Invest lets you set up automatic deposits from ${deposit} a month. "
        "Investments can go down as well as up."
    )
    explanation = (
        "The copy describes deposits and warns that investments can lose value, so it breaks no rule."
    )
    return copy, "none", explanation


def plain_product(rng: random.Random) -> Row:
    brand, herb = rng.choice(BRANDS), rng.choice(HERBS)
    copy = rng.choice(
        (
            f"{brand} {herb} tea is made from whole leaves and has a mild, earthy flavor.",
            f"Start your day with {brand} {herb} tea, packed in recyclable tins.",
        )
    )
    explanation = "The copy describes taste and packaging and makes no health claim, so it breaks no rule."
    return copy, "none", explanation


def plain_price(rng: random.Random) -> Row:
    brand, price, gift = rng.choice(BRANDS), rng.randint(8, 30), rng.choice(GIFTS)
    copy = rng.choice(
        (
            f"Subscribe to {brand} for ${price} a month and cancel any time from your account page.",
            f"Order today and get a {gift} at no extra cost, with free shipping included from {brand}.",
        )
    )
    explanation = "The copy states its price plainly and asks no hidden payment for anything it calls free, so it breaks no rule."
    return copy, "none", explanation


TEMPLATES: tuple[Callable[[random.Random], Row], ...] = (
    guaranteed_return,
    disease_claim,
    paid_free,
    unsourced_best,
    sourced_best,
    plain_investment,
    plain_product,
    plain_price,
)


def make_row(copy: str, rule: str, explanation: str, task_id: str) -> dict:
    user = f'{POLICY}\n\nMarketing copy:\n"""{copy}"""\n\n{INSTRUCTION}'
    return {
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        "reference_answer": {"compliant": "Yes" if rule == "none" else "No", "explanation": explanation},
        "task_id": task_id,
        "domain": "compliance",
        "rule": rule,
    }


def generate(rows: int, split: str, rng: random.Random, seen: set[str]) -> list[dict]:
    """``rows`` rows cycling through the templates (so verdicts stay balanced), no repeated copy."""
    out: list[dict] = []
    attempts = 0
    while len(out) < rows:
        attempts += 1
        if attempts > rows * 200:
            raise RuntimeError(f"could not draw {rows} distinct rows for {split}; add template variety")
        copy, rule, explanation = TEMPLATES[len(out) % len(TEMPLATES)](rng)
        if copy in seen:
            continue
        seen.add(copy)
        out.append(make_row(copy, rule, explanation, f"sj-{split}-{len(out) + 1:04d}"))
    return out


def build() -> dict[str, list[dict]]:
    """The dataset files' rows, by file name."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    return {
        "train.jsonl": generate(TRAIN_ROWS, "train", rng, seen),
        "validation.jsonl": generate(VALIDATION_ROWS, "validation", rng, seen),
    }


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
