#!/usr/bin/env python3
"""Generate the tool-calling sample dataset: requests to an assistant with six tools.

    python data/tool_calling/generate.py            # rewrite train.jsonl and validation.jsonl here
    python data/tool_calling/generate.py --out DIR  # write them into DIR instead
    python data/tool_calling/generate.py --check    # exit 1 if the committed files differ from a fresh run

Each row declares the same six tools (OpenAI-style function definitions in a top-level ``tools`` array,
as AWS's Nova 2 RFT data page documents; the Nova Forge SDK wants ``tools`` in all records or none) and
asks for something one of them does. The reference answer lists the expected calls,
``{"tool_calls": [{"name": ..., "arguments": {...}}], "expected_behavior": "..."}``: about 15% of rows
expect no call (``"tool_calls": []``: small talk, or a request no tool can serve) and a few expect two.
Arguments cover strings, integers, numbers, booleans, enums, arrays and a nested object. Invented,
deterministic (a seeded ``random.Random``, no clock, no network), standard library only.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

SEED = 20251205
TRAIN_ROWS = 200
VALIDATION_ROWS = 100
SYSTEM_PROMPT = (
    "You are a helpful assistant with access to tools. When a request needs a tool, call it with exactly "
    "the arguments the user gave (leave out optional arguments the user did not mention). When no tool "
    "fits, answer in plain text without calling any tool."
)


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


CABINS = ["economy", "premium_economy", "business", "first"]
ROOMS = ["living_room", "bedroom", "kitchen", "office", "bathroom"]
CATEGORIES = ["electronics", "books", "garden", "kitchen", "sports", "toys"]
TOOLS = [
    _tool(
        "get_weather",
        "Get the weather forecast for a city.",
        {
            "city": {"type": "string", "description": "City name, e.g. Lisbon"},
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 7,
                "default": 1,
                "description": "Days ahead",
            },
            "units": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        ["city"],
    ),
    _tool(
        "book_flight",
        "Book a one-way flight between two airports.",
        {
            "origin": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "IATA code, e.g. LIS"},
            "destination": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "IATA code"},
            "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$", "description": "YYYY-MM-DD"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
            "cabin": {"type": "string", "enum": CABINS, "default": "economy"},
        },
        ["origin", "destination", "date"],
    ),
    _tool(
        "create_event",
        "Create a calendar event.",
        {
            "title": {"type": "string"},
            "start": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}$"},
            "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            "attendees": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "reminder": {
                "type": "object",
                "properties": {
                    "minutes_before": {"type": "integer", "minimum": 0},
                    "method": {"type": "string", "enum": ["email", "popup"]},
                },
                "required": ["minutes_before", "method"],
                "additionalProperties": False,
            },
        },
        ["title", "start", "duration_minutes"],
    ),
    _tool(
        "convert_currency",
        "Convert an amount of money from one currency to another at today's rate.",
        {
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "from_currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "to_currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        ["amount", "from_currency", "to_currency"],
    ),
    _tool(
        "search_products",
        "Search the shop's catalogue.",
        {
            "query": {"type": "string"},
            "max_price": {"type": "number", "minimum": 0},
            "categories": {
                "type": "array",
                "items": {"type": "string", "enum": CATEGORIES},
                "uniqueItems": True,
            },
            "in_stock_only": {"type": "boolean", "default": False},
        },
        ["query"],
    ),
    _tool(
        "set_thermostat",
        "Set a room's thermostat.",
        {
            "room": {"type": "string", "enum": ROOMS},
            "temperature": {"type": "number", "minimum": 10, "maximum": 30},
            "mode": {"type": "string", "enum": ["heat", "cool", "auto"], "default": "auto"},
        },
        ["room", "temperature"],
    ),
]

CITIES = ("Lisbon", "Oslo", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Montreal", "Porto", "Hanoi")
AIRPORTS = {"Lisbon": "LIS", "Oslo": "OSL", "Nairobi": "NBO", "Osaka": "KIX", "Quito": "UIO",
            "Tallinn": "TLL", "Perth": "PER", "Montreal": "YUL", "Porto": "OPO", "Hanoi": "HAN"}  # fmt: skip
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "NOK", "KES")
PEOPLE = ("ana@example.com", "bo@example.com", "chen@example.com", "dee@example.com", "eli@example.com")
PRODUCTS = ("trail running shoes", "espresso grinder", "garden hose", "sci-fi novel", "yoga mat", "desk lamp")
MEETINGS = ("Budget review", "Team lunch", "Dentist", "Sprint planning", "Book club", "1:1 with Sam")
NO_CALL = (
    ("Tell me a short joke about penguins.", "answer in text: a joke needs no tool"),
    ("What does the word 'ephemeral' mean?", "answer in text: a definition needs no tool"),
    ("Please order me a large pepperoni pizza.", "decline in text: no tool orders food"),
    ("Write a two-line poem about autumn.", "answer in text: writing needs no tool"),
    ("What's 17 times 3?", "answer in text: simple arithmetic needs no tool"),
    ("Can you call my mother for me?", "decline in text: no tool makes phone calls"),
    ("Thanks, that's all for today!", "reply in text: nothing to do"),
    ("Translate 'good morning' into Spanish.", "answer in text: translation needs no tool"),
    ("Who wrote Pride and Prejudice?", "answer in text: general knowledge needs no tool"),
    ("Cancel my gym membership.", "decline in text: no tool manages memberships"),
)

Call = dict[str, Any]
Task = tuple[str, list[Call], str]  # (user request, expected calls, expected behaviour)


def _call(name: str, **arguments: Any) -> Call:
    return {"name": name, "arguments": arguments}


def weather(rng: random.Random) -> Task:
    city = rng.choice(CITIES)
    kind = rng.randrange(3)
    if kind == 0:
        return (
            f"What's the weather like in {city} today?",
            [_call("get_weather", city=city)],
            "one weather call",
        )
    days = rng.randint(2, 7)
    if kind == 1:
        return (
            f"Give me the {days}-day forecast for {city}.",
            [_call("get_weather", city=city, days=days)],
            "one weather call with days",
        )
    return (
        f"How warm will it be in {city} over the next {days} days, in Fahrenheit please?",
        [_call("get_weather", city=city, days=days, units="fahrenheit")],
        "one weather call with days and units",
    )


def flight(rng: random.Random) -> Task:
    a, b = rng.sample(CITIES, 2)
    date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    arguments: dict[str, Any] = {"origin": AIRPORTS[a], "destination": AIRPORTS[b], "date": date}
    text = f"Book me a flight from {a} ({AIRPORTS[a]}) to {b} ({AIRPORTS[b]}) on {date}"
    if rng.random() < 0.5:
        arguments["passengers"] = rng.randint(2, 5)
        text += f" for {arguments['passengers']} people"
    if rng.random() < 0.5:
        arguments["cabin"] = rng.choice(CABINS[1:])
        text += f", {arguments['cabin'].replace('_', ' ')} class"
    return text + ".", [_call("book_flight", **arguments)], "one flight booking"


def event(rng: random.Random) -> Task:
    title = rng.choice(MEETINGS)
    start = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(8, 17):02d}:{rng.choice((0, 30)):02d}"
    minutes = rng.choice((15, 30, 45, 60, 90))
    arguments: dict[str, Any] = {"title": title, "start": start, "duration_minutes": minutes}
    text = f"Put '{title}' in my calendar at {start.replace('T', ' ')} for {minutes} minutes"
    if rng.random() < 0.6:
        people = sorted(rng.sample(PEOPLE, rng.randint(1, 3)))
        arguments["attendees"] = people
        text += f", inviting {' and '.join(people)}"
    if rng.random() < 0.5:
        before, method = rng.choice((5, 10, 15, 30)), rng.choice(("email", "popup"))
        arguments["reminder"] = {"minutes_before": before, "method": method}
        text += f", with a {method} reminder {before} minutes before"
    return text + ".", [_call("create_event", **arguments)], "one calendar event"


def currency(rng: random.Random) -> Task:
    a, b = rng.sample(CURRENCIES, 2)
    amount = rng.choice((rng.randint(5, 5000), round(rng.uniform(1, 900), 2)))
    return (
        f"How much is {amount} {a} in {b}?",
        [_call("convert_currency", amount=amount, from_currency=a, to_currency=b)],
        "one currency conversion",
    )


def products(rng: random.Random) -> Task:
    query = rng.choice(PRODUCTS)
    arguments: dict[str, Any] = {"query": query}
    text = f"Find me a {query}"
    if rng.random() < 0.6:
        arguments["max_price"] = rng.choice((20, 35.5, 50, 80, 120, 249.99))
        text += f" under {arguments['max_price']} dollars"
    if rng.random() < 0.4:
        arguments["categories"] = sorted(rng.sample(CATEGORIES, rng.randint(1, 2)))
        text += f" in {' or '.join(arguments['categories'])}"
    if rng.random() < 0.4:
        arguments["in_stock_only"] = True
        text += ", only items in stock"
    return text + ".", [_call("search_products", **arguments)], "one product search"


def thermostat(rng: random.Random) -> Task:
    room = rng.choice(ROOMS)
    temperature = rng.choice((17, 18.5, 19, 20, 21, 21.5, 22, 23))
    arguments: dict[str, Any] = {"room": room, "temperature": temperature}
    text = f"Set the {room.replace('_', ' ')} to {temperature} degrees"
    if rng.random() < 0.5:
        arguments["mode"] = rng.choice(("heat", "cool"))
        text += f" on {arguments['mode']} mode"
    return text + ".", [_call("set_thermostat", **arguments)], "one thermostat change"


def two_calls(rng: random.Random) -> Task:
    if rng.random() < 0.5:
        a, b = rng.sample(CITIES, 2)
        return (
            f"What's the weather today in {a} and in {b}?",
            [_call("get_weather", city=a), _call("get_weather", city=b)],
            "two weather calls, one per city",
        )
    (a, b), amount = rng.sample(CURRENCIES, 2), rng.randint(10, 900)
    room, temperature = rng.choice(ROOMS), rng.choice((19, 20, 21))
    return (
        f"Convert {amount} {a} to {b}, and set the {room.replace('_', ' ')} to {temperature} degrees.",
        [
            _call("convert_currency", amount=amount, from_currency=a, to_currency=b),
            _call("set_thermostat", room=room, temperature=temperature),
        ],
        "two calls: a conversion and a thermostat change",
    )


def no_call(rng: random.Random) -> Task:
    text, behaviour = rng.choice(NO_CALL)
    return text, [], behaviour


# One cycle of 20 draws: 3 no-call rows (15%), 1 two-call row, the rest single calls.
CYCLE: tuple[Callable[[random.Random], Task], ...] = (
    weather, flight, event, currency, products, thermostat, no_call, weather, flight, event,
    currency, products, two_calls, thermostat, no_call, event, flight, products, no_call, currency,
)  # fmt: skip


def make_row(task: Task, task_id: str) -> dict[str, Any]:
    text, calls, behaviour = task
    return {
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}],
        "tools": TOOLS,
        "reference_answer": {"tool_calls": calls, "expected_behavior": behaviour},
        "task_id": task_id,
        "domain": "tool_calling",
    }


def generate(rows: int, split: str, rng: random.Random, seen: set[str]) -> list[dict[str, Any]]:
    """``rows`` rows cycling through :data:`CYCLE`, no repeated request (small talk may repeat across
    splits only as often as :data:`NO_CALL` forces; a repeat is redrawn)."""
    out: list[dict[str, Any]] = []
    attempts = 0
    while len(out) < rows:
        attempts += 1
        if attempts > rows * 200:
            raise RuntimeError(f"could not draw {rows} distinct rows for {split}; add template variety")
        draw = CYCLE[len(out) % len(CYCLE)]
        task = draw(rng)
        key = task[0] if draw is not no_call else f"{split}:{task[0]}"
        if key in seen:
            if draw is no_call:  # a few small-talk prompts: vary them with a greeting
                task = (f"{rng.choice(('Hi!', 'Hello.', 'Quick one:', 'Hey,'))} {task[0]}", *task[1:])
                key = f"{split}:{task[0]}"
            if key in seen:
                continue
        seen.add(key)
        out.append(make_row(task, f"tc-{split}-{len(out) + 1:04d}"))
    return out


def build() -> dict[str, list[dict[str, Any]]]:
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
