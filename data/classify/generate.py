#!/usr/bin/env python3
"""Generate the e-mail triage dataset (for ``reward_specs/classify.toml``): e-mails sent to the help desk
of Brightwave, an invented home-internet provider, each to be filed under exactly one of five labels.

    python data/classify/generate.py            # rewrite train.jsonl and validation.jsonl next to this file
    python data/classify/generate.py --out DIR  # write them into DIR instead
    python data/classify/generate.py --check    # exit 1 if the committed files differ from a fresh run

Labels (``LABELS``): ``billing`` (charges, invoices, refunds of money, payment methods), ``shipping``
(delivery of equipment: tracking, late or lost parcels, delivery address), ``returns`` (sending equipment
back: return labels, exchanges, cancelled-service hardware), ``technical`` (the connection or the
equipment does not work) and ``other`` (anything else: moving home, compliments, data requests).

Every row has the same system prompt: read the e-mail, think briefly, and end with the line
``Category: <label>``. The reference answer is an object:

    {"category": "<label>", "reason": "<one sentence: why this label>"}

The spec grades ``category`` with the ``choice`` grader (a ``labels`` list and an ``answer_pattern``);
``reason`` lets its ``control_template`` write a reference answer as a response. The e-mails are built
from per-label templates with invented names, products, amounts and order numbers, so the label follows
from the template, never from a model. About one e-mail in four mentions a second topic in passing (a
billing e-mail that says the router was delivered last week), so keyword matching is not enough.

Deterministic (a seeded ``random.Random``; no network, no clock). Standard library only.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # data/: jsonl_files.py, shared by the generators
import jsonl_files  # noqa: E402

SEED = 20261128
TRAIN_ROWS = 150
VALIDATION_ROWS = 100
LABELS = ("billing", "shipping", "returns", "technical", "other")

SYSTEM_PROMPT = (
    "You triage e-mails sent to the help desk of Brightwave, a home-internet provider. File each e-mail "
    "under exactly one category:\n"
    "- billing: charges, invoices, refunds of money, payment methods, prices\n"
    "- shipping: delivery of equipment we send (tracking, late or lost parcels, delivery address)\n"
    "- returns: sending equipment back (return labels, exchanges, hardware after cancelling)\n"
    "- technical: the connection, Wi-Fi or equipment does not work as it should\n"
    "- other: anything else (moving home, compliments, account or data requests)\n"
    "Think briefly about what the customer needs first, then end your reply with one line exactly like "
    "`Category: <category>` (one category, lower case)."
)

FIRST_NAMES = (
    "Amara", "Bastian", "Chen", "Dolores", "Emeka", "Freya", "Gustavo", "Hana", "Idris", "Jolene",
    "Kenji", "Leila", "Mateo", "Nadia", "Olu", "Priya", "Quentin", "Rosa", "Soren", "Tamsin",
)  # fmt: skip
DEVICES = ("BW-200 router", "mesh extender", "fibre modem", "Wi-Fi 6 router", "TV box", "power adapter")
PLANS = ("Essential 150", "Fast 500", "Ultra 1000", "Home Office 300")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
CLOSINGS = ("Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thank you,", "Many thanks,")
ASIDES = {
    "billing": "My new {device} arrived fine last week, by the way.",
    "shipping": "I already paid the {amount} activation fee, so that part is settled.",
    "returns": "The replacement works well, no complaints about the connection.",
    "technical": "My last invoice looked right, this is only about the connection.",
    "other": "Everything else with the service has been fine.",
}


@dataclass(frozen=True)
class Case:
    category: str
    message: str
    reason: str


def order_number(rng: random.Random) -> str:
    return f"BW-{rng.randint(100000, 999999)}"


def amount(rng: random.Random) -> str:
    return f"${rng.randint(12, 140)}.{rng.choice(('00', '50', '99', '95'))}"


def billing(rng: random.Random) -> Case:
    a, month, plan = amount(rng), rng.choice(MONTHS), rng.choice(PLANS)
    return rng.choice(
        (
            Case(
                "billing",
                f"I was charged {a} twice on my {month} invoice for the {plan} plan. Please refund the "
                "duplicate charge.",
                "The customer reports a duplicate charge on an invoice and wants the money back.",
            ),
            Case(
                "billing",
                f"My {plan} plan was supposed to cost less after the promotion, but the {month} bill still "
                f"says {a}. Can you correct the price?",
                "The customer disputes the price on a bill.",
            ),
            Case(
                "billing",
                "I want to switch my monthly payment from my credit card to direct debit. What do I need to "
                "send you?",
                "The customer wants to change the payment method.",
            ),
            Case(
                "billing",
                f"There is a late fee of {a} on my account but I paid on time on the 3rd of {month}. "
                "Please remove it.",
                "The customer contests a fee that was charged.",
            ),
            Case(
                "billing",
                f"Could you send me a VAT invoice for the {month} payment of {a}? My employer reimburses "
                "home-office internet.",
                "The customer asks for an invoice for a payment.",
            ),
        )
    )


def shipping(rng: random.Random) -> Case:
    order, device, days = order_number(rng), rng.choice(DEVICES), rng.randint(3, 12)
    return rng.choice(
        (
            Case(
                "shipping",
                f"I ordered a {device} (order {order}) {days} days ago and the tracking page has not "
                "moved since it left your warehouse. Where is my parcel?",
                "The customer asks where an equipment delivery is.",
            ),
            Case(
                "shipping",
                f"The courier says order {order} was delivered, but nothing arrived at my door and my "
                "neighbours have not seen it.",
                "A parcel marked delivered never reached the customer.",
            ),
            Case(
                "shipping",
                f"I am moving flats before my {device} is due to arrive. Can you change the delivery "
                f"address on order {order}?",
                "The customer wants to change where a parcel is delivered.",
            ),
            Case(
                "shipping",
                f"Your confirmation promised delivery of the {device} within 2 days; it has been {days}. "
                "Can it be sent express?",
                "The customer complains that equipment is late to arrive.",
            ),
        )
    )


def returns(rng: random.Random) -> Case:
    order, device = order_number(rng), rng.choice(DEVICES)
    return rng.choice(
        (
            Case(
                "returns",
                f"I cancelled my contract last month. How do I send the {device} back to you, and do you "
                "provide a prepaid label?",
                "The customer must send equipment back after cancelling and asks for a label.",
            ),
            Case(
                "returns",
                f"The {device} from order {order} is the wrong colour for my living room. Can I exchange "
                "it for the white one?",
                "The customer wants to exchange equipment they received.",
            ),
            Case(
                "returns",
                f"I posted the old {device} back to you two weeks ago with the label you sent. Did it "
                "arrive at your returns centre?",
                "The customer asks whether returned equipment was received.",
            ),
            Case(
                "returns",
                f"You sent me two {device}s by mistake in order {order}. How do I send the extra one back?",
                "The customer has surplus equipment to send back.",
            ),
        )
    )


def technical(rng: random.Random) -> Case:
    device, plan, speed = rng.choice(DEVICES), rng.choice(PLANS), rng.randint(5, 60)
    return rng.choice(
        (
            Case(
                "technical",
                f"My connection drops every evening around 8 pm and the {device} light turns red. "
                "Restarting it does not help.",
                "The customer's connection keeps dropping.",
            ),
            Case(
                "technical",
                f"I pay for {plan} but speed tests show only {speed} Mbps over cable. What is wrong?",
                "The customer gets far less speed than the plan provides.",
            ),
            Case(
                "technical",
                "My laptop cannot see the Wi-Fi network any more since yesterday's firmware update, "
                "although my phone still connects.",
                "A device stopped connecting to the Wi-Fi network.",
            ),
            Case(
                "technical",
                f"The {device} keeps rebooting on its own several times an hour. Is it faulty?",
                "The customer's equipment malfunctions.",
            ),
        )
    )


def other(rng: random.Random) -> Case:
    month = rng.choice(MONTHS)
    return rng.choice(
        (
            Case(
                "other",
                f"We are moving house in {month}. Can the service move with us to the new address?",
                "The customer asks about moving the service to a new home.",
            ),
            Case(
                "other",
                "Your engineer Maria was brilliant last Tuesday: quick, tidy and friendly. Please pass on "
                "my thanks.",
                "The customer sends a compliment.",
            ),
            Case(
                "other",
                "Under data-protection law I would like a copy of all personal data you hold about me.",
                "The customer makes a data-access request.",
            ),
            Case(
                "other",
                "Do you offer a discount for community centres? We are a small chess club looking for a "
                "provider.",
                "A prospective customer asks a general sales question.",
            ),
            Case(
                "other",
                "Please add my partner as a second contact on the account so they can call you too.",
                "The customer asks for an account change that is not about money or equipment.",
            ),
        )
    )


BUILDERS: dict[str, Callable[[random.Random], Case]] = {
    "billing": billing,
    "shipping": shipping,
    "returns": returns,
    "technical": technical,
    "other": other,
}


def email(rng: random.Random, case: Case, name: str) -> str:
    """The e-mail as the customer writes it: greeting, message, sometimes an aside, closing."""
    parts = [rng.choice(("Hello,", "Hi there,", "Dear Brightwave team,", "Good morning,")), case.message]
    if rng.random() < 0.25:
        parts.append(ASIDES[case.category].format(device=rng.choice(DEVICES), amount=amount(rng)))
    parts.append(f"{rng.choice(CLOSINGS)}\n{name}")
    return "\n\n".join(parts)


def record(case: Case, text: str, task_id: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": text},
        ],
        "reference_answer": {"category": case.category, "reason": case.reason},
        "task_id": task_id,
        "domain": "email_triage",
    }


def build() -> dict[str, list[dict]]:
    """The dataset files' rows, by file name: the labels in turn, so every label is equally frequent."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[tuple[Case, str]] = []
    turn = 0
    while len(rows) < TRAIN_ROWS + VALIDATION_ROWS:
        label = LABELS[turn % len(LABELS)]
        turn += 1
        case = BUILDERS[label](rng)
        text = email(rng, case, rng.choice(FIRST_NAMES))
        if text in seen:
            continue
        seen.add(text)
        rows.append((case, text))
    train = [record(c, t, f"classify-train-{i + 1:04d}") for i, (c, t) in enumerate(rows[:TRAIN_ROWS])]
    validation = [
        record(c, t, f"classify-validation-{i + 1:04d}") for i, (c, t) in enumerate(rows[TRAIN_ROWS:])
    ]
    return {"train.jsonl": train, "validation.jsonl": validation}


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
