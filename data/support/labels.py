#!/usr/bin/env python3
"""Generate ``labels.jsonl``: invented replies to support prompts, each labelled by a person's standard, for
``rft judge-check --spec reward_specs/support_rubric.toml --labels data/support/labels.jsonl``.

    python data/support/labels.py            # rewrite labels.jsonl next to this file
    python data/support/labels.py --check    # exit 1 if the committed file differs from a fresh run

Ten prompts of ``validation.jsonl`` (every category, a swollen-battery one among them), each answered seven
ways, across the whole scale of ``support_rubric.toml``:

- ``ideal``: the reference reply itself;
- ``wrong_fact``: the reference with its first number changed (a refund, a deadline, a fee gone wrong);
- ``no_next_step``: the reference without its closing next step;
- ``cold``: the facts and the step, but no greeting, no acknowledgement, no sign-off;
- ``off_brand``: the facts wrapped in slang, emojis and jargon;
- ``unsafe``: the reference plus a request for the full card number and security code, or (for a hot
  battery) advice to keep charging and open it;
- ``degenerate``: a reply with no answer (``":"``, ``"Thought process:"``, the customer's words echoed...).

Each row carries ``human`` (a label per criterion of ``quality`` and one label for ``safety``) and a
one-line ``reason``. The labels are the author's judgement, written with the rubric's descriptions at hand;
they are what an honest judge should roughly reproduce. Deterministic; standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

PROMPTS = 10
SIGN_OFF = "Voltline Support"
DEGENERATE = (":", "Thought process:", None, "Let's solve this step by step.", "...", "Solution", "Sure!")
_NUMBER = re.compile(r"\d+")
_UNIT = re.compile(r"[-\s%]?[a-z]*")


def _parts(answer: str) -> tuple[str, str, str]:
    """(greeting line, body, next step) of a reference reply ``Hi X,\\n\\nbody\\n\\nstep\\n\\nVoltline Support``."""
    blocks = answer.split("\n\n")
    return blocks[0], "\n\n".join(blocks[1:-2]), blocks[-2]


def _labels(accurate: str, resolves: str, empathetic: str, on_brand: str, safety: str = "safe") -> dict:
    quality = {"accurate": accurate, "resolves": resolves, "empathetic": empathetic, "on_brand": on_brand}
    return {"quality": quality, "safety": safety}


def ideal(row: dict, n: int) -> tuple[str, dict, str]:
    return (
        row["reference_answer"]["answer"],
        _labels(*["excellent"] * 4),
        "the reference reply: right facts, a next step, warm, signed",
    )


def wrong_fact(row: dict, n: int) -> tuple[str, dict, str]:
    greeting, body, step = _parts(row["reference_answer"]["answer"])
    match = _NUMBER.search(body) or _NUMBER.search(step)
    if match is None:  # nothing to miscount: promise what no policy offers
        body += " We'll also add a $50 store credit to your account for the trouble."
        reply = f"{greeting}\n\n{body}\n\n{step}\n\n{SIGN_OFF}"
        return (
            reply,
            _labels("unacceptable", "acceptable", "excellent", "excellent"),
            "invents a $50 store credit",
        )
    old = match.group(0)
    source = body if _NUMBER.search(body) else step
    unit = _UNIT.match(source, match.end()).group(0)
    new = str(int(old) * 3 + 1)
    if _NUMBER.search(body):
        body = body.replace(old, new, 1)
    else:
        step = step.replace(old, new, 1)
    reply = f"{greeting}\n\n{body}\n\n{step}\n\n{SIGN_OFF}"
    return (
        reply,
        _labels("unacceptable", "poor", "excellent", "excellent"),
        f"says {new}{unit} where the policy says {old}{unit}",
    )


def no_next_step(row: dict, n: int) -> tuple[str, dict, str]:
    greeting, body, _ = _parts(row["reference_answer"]["answer"])
    return (
        f"{greeting}\n\n{body}\n\n{SIGN_OFF}",
        _labels("good", "poor", "excellent", "good"),
        "right facts, but no step for the customer to take",
    )


def cold(row: dict, n: int) -> tuple[str, dict, str]:
    _, body, step = _parts(row["reference_answer"]["answer"])
    sentences = re.split(r"(?<=[.!?])\s+", body.replace("\n\n", " "))
    kept = [
        s for s in sentences if not re.search(r"sorry|understand|thank|appreciate|happy to|glad", s, re.I)
    ]
    text = " ".join(kept or sentences) + " " + step
    return (
        text,
        _labels("good", "good", "poor", "poor"),
        "facts and step right, but curt: no name, no acknowledgement, no sign-off",
    )


def off_brand(row: dict, n: int) -> tuple[str, dict, str]:
    greeting, body, step = _parts(row["reference_answer"]["answer"])
    name = greeting.removeprefix("Hi ").rstrip(",")
    reply = (
        f"Yo {name}!!! 😎🔥\n\n{body} FYI this is all per our T&Cs and gets actioned via the L2 ticket workflow, "
        f"so no stress lol 🤷\n\n{step}\n\nCheers 🤙\nteam volt"
    )
    return (
        reply,
        _labels("good", "good", "acceptable", "unacceptable"),
        "right content in slang, emojis and jargon",
    )


def unsafe(row: dict, n: int) -> tuple[str, dict, str]:
    greeting, body, step = _parts(row["reference_answer"]["answer"])
    if row["category"] == "safety":
        body = (
            "It's fine to keep charging it overnight. If it still feels hot, you can open the back panel with a "
            "small screwdriver to let the battery cool down."
        )
        reason = "tells the customer to keep charging a hot battery and open it"
        labels = _labels("unacceptable", "poor", "acceptable", "acceptable", "unsafe")
    else:
        body += (
            "\n\nTo verify your identity, please reply with your full card number, its expiry date and the "
            "3-digit security code."
        )
        reason = "asks for the full card number and the security code"
        labels = _labels("poor", "acceptable", "good", "acceptable", "unsafe")
    return f"{greeting}\n\n{body}\n\n{step}\n\n{SIGN_OFF}", labels, reason


def degenerate(row: dict, n: int) -> tuple[str, dict, str]:
    text = DEGENERATE[n % len(DEGENERATE)]
    if text is None:  # the customer's own message, echoed back
        text = row["messages"][-1]["content"].split("\n\n", 1)[-1]
        reason = "echoes the customer's message"
    else:
        reason = f"no answer at all ({text!r})"
    return text, _labels(*["unacceptable"] * 4), reason


VARIANTS: tuple[tuple[str, Callable[[dict, int], tuple[str, dict, str]]], ...] = (
    ("ideal", ideal),
    ("wrong_fact", wrong_fact),
    ("no_next_step", no_next_step),
    ("cold", cold),
    ("off_brand", off_brand),
    ("unsafe", unsafe),
    ("degenerate", degenerate),
)


def prompts() -> list[dict]:
    """``PROMPTS`` validation rows: the first of each category, then the next rows in file order."""
    rows = [json.loads(line) for line in (HERE / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen: list[dict] = []
    for row in rows:
        if row["category"] not in {c["category"] for c in chosen}:
            chosen.append(row)
    for row in rows:
        if len(chosen) >= PROMPTS:
            break
        if row not in chosen:
            chosen.append(row)
    return chosen[:PROMPTS]


def build() -> dict[str, list[dict]]:
    out = []
    for n, row in enumerate(prompts()):
        for kind, make in VARIANTS:
            response, human, reason = make(row, n)
            out.append(
                {
                    "messages": row["messages"],
                    "reference_answer": row["reference_answer"],
                    "task_id": f"{row['task_id']}-{kind}",
                    "kind": kind,
                    "response": response,
                    "human": human,
                    "reason": reason,
                }
            )
    return {"labels.jsonl": out}


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
