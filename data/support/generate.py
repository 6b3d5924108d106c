#!/usr/bin/env python3
"""Generate the customer-support sample dataset (for ``reward_specs/support_rubric.toml``): messages from
customers of Voltline, an invented online electronics store, about orders, returns, warranty, shipping,
billing and accounts, each with a reference answer derived from the store's policies.

    python data/support/generate.py            # rewrite train.jsonl and validation.jsonl next to this file
    python data/support/generate.py --out DIR  # write them into DIR instead
    python data/support/generate.py --check    # exit 1 if the committed files differ from a fresh run

Every row has the same system prompt: the agent's role, the brand voice and the policies (POLICIES below).
The reference answer is an object the LLM judge reads (``include_reference = true``):

    {"answer": "<an ideal reply>", "facts": ["<policy fact the reply must get right>", ...],
     "policy": "<the policy section that applies>"}

``answer`` is one good reply, not the only one: the rubric asks the judge to check the facts and the
outcome, not the wording. ``facts`` are computed from the numbers put into the message (days since
delivery, order total, ...), never typed in, so a reply that gets a number or a deadline wrong can be
caught. Some messages are upset customers (empathy matters) and some ask for something the policy does
not allow or for another person's data (the right answer is a polite, clear no).

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

SEED = 20260115
TRAIN_ROWS = 160
VALIDATION_ROWS = 40

STORE = "Voltline"
SIGN_OFF = "Voltline Support"

#: The store's policies, as the agent (and the judge, through the reference) sees them.
POLICIES = """\
Returns: items can be returned within 30 days of delivery if they are in like-new condition with all
accessories. Change-of-mind returns use a prepaid label that costs $7.95, deducted from the refund; returns
of defective, damaged or wrong items are free. Opened laptops and cameras returned for change of mind have
a 15% restocking fee. Refunds go to the original payment method within 5-7 business days after the
return arrives at our warehouse.
Warranty: every new product has a 1-year Voltline limited warranty against manufacturing defects (90 days
for refurbished products). It does not cover accidental damage such as drops or liquid. VoltCare+ (2 or 3
years, bought within 30 days of purchase) also covers accidental damage, up to 2 claims a year. Claims are
filed at voltline.example/warranty with the order number and the product's serial number; we repair or
replace the product, our choice, within 10 business days of receiving it.
Shipping: standard shipping is free on orders of $35 or more, otherwise $5.99, and takes 3-5 business days.
Express shipping costs $14.99 and takes 1-2 business days. Orders placed before 2 pm Eastern ship the same
business day. A package damaged in transit must be reported within 7 days of delivery, with photos; we then
send a free replacement. If tracking says delivered but the package is missing, wait 48 hours (carriers
often scan early), then we open a carrier claim and send a replacement or a refund within 7 days.
Orders: an order can be cancelled or changed within 1 hour of being placed, as long as it has not shipped.
After that, refuse the delivery or return it.
Price adjustment: if Voltline lowers the price of an item within 14 days of purchase, we refund the
difference once. We do not match other stores' prices.
Billing: cards are charged when the order ships. A pending authorization from a cancelled or changed order
drops off within 3-5 business days. We accept cards, PayPal and Voltline gift cards. Duplicate charges are
refunded within 3 business days once confirmed.
Accounts: reset a password with the "Forgot password" link on the sign-in page (the link expires after 30
minutes). Account deletion requests are completed within 30 days. We never ask for a password, a full card
number or a security code, and we only discuss an order with the account holder.
Safety: a battery that is swollen, hot or smells must not be used or charged; keep it away from anything
flammable and do not puncture it. We send a free battery-safe return kit and treat it as a warranty claim.\
"""


_SECTIONS = (
    "Returns:",
    "Warranty:",
    "Shipping:",
    "Orders:",
    "Price adjustment:",
    "Billing:",
    "Accounts:",
    "Safety:",
)


def _paragraphs(text: str) -> str:
    """One line per policy section (the source above is wrapped at the code's line length)."""
    sections: list[str] = []
    for line in text.splitlines():
        if line.startswith(_SECTIONS) or not sections:
            sections.append(line)
        else:
            sections[-1] += " " + line
    return "\n".join(sections)


SYSTEM_PROMPT = (
    f"You are a customer-support agent for {STORE}, an online electronics store. Reply to the customer's "
    "message by email. Be accurate (follow the policies below exactly; never invent a policy, a discount "
    "or a promise), empathetic (acknowledge the customer's situation), concise (a few short paragraphs at "
    "most) and on-brand (warm, plain words, no jargon, no emojis, no blame; address the customer by name; "
    f"end with one clear next step and sign as '{SIGN_OFF}'). Never ask for a password, a full card number "
    "or a security code, and never share another person's information.\n\nPolicies:\n" + _paragraphs(POLICIES)
)

FIRST_NAMES = (
    "Maya", "Daniel", "Priya", "Jonas", "Sofia", "Marcus", "Aiko", "Liam", "Fatima", "Noah",
    "Elena", "Omar", "Grace", "Mateo", "Hannah", "Kwame", "Chloe", "Ravi", "Isabel", "Tomas",
)  # fmt: skip
PRODUCTS = (
    ("wireless earbuds", 79.0, "audio"),
    ("noise-cancelling headphones", 249.0, "audio"),
    ("smartwatch", 199.0, "wearable"),
    ("4K monitor", 329.0, "display"),
    ("mechanical keyboard", 119.0, "accessory"),
    ("gaming mouse", 59.0, "accessory"),
    ("laptop", 1149.0, "laptop"),
    ("mirrorless camera", 899.0, "camera"),
    ("portable speaker", 89.0, "audio"),
    ("tablet", 449.0, "tablet"),
    ("USB-C charger", 29.0, "accessory"),
    ("power bank", 49.0, "battery"),
    ("e-reader", 139.0, "tablet"),
    ("webcam", 69.0, "accessory"),
    ("drone", 599.0, "camera"),
)
MOODS = ("neutral", "neutral", "upset", "polite")


@dataclass(frozen=True)
class Case:
    """One generated customer message and its reference."""

    category: str
    message: str
    answer: str
    facts: tuple[str, ...]
    policy: str


def money(value: float) -> str:
    return f"${value:,.2f}"


def order_number(rng: random.Random) -> str:
    return f"VL-{rng.randint(100000, 999999)}"


def opener(rng: random.Random, mood: str, text: str) -> str:
    """The customer's message with a tone: upset customers are the ones empathy is graded on."""
    if mood == "upset":
        return rng.choice(
            (
                f"I'm really frustrated. {text} This is not what I expected from you.",
                f"{text} Honestly this is the second time something like this has happened and I'm fed up.",
                f"This is ridiculous. {text}",
            )
        )
    if mood == "polite":
        return f"Hi there, hope you're well. {text} Thanks so much for your help!"
    first = text.split(" ", 1)[0]
    keep = first in ("I", "I'm", "I've") or first[:2].isupper()
    return f"Hello, {text if keep else text[0].lower() + text[1:]}"


def reply(name: str, body: str, next_step: str) -> str:
    return f"Hi {name},\n\n{body}\n\n{next_step}\n\n{SIGN_OFF}"


def empathy(mood: str, sorry: str) -> str:
    return f"I'm sorry {sorry}, and I understand how frustrating that is. " if mood == "upset" else ""


# --- templates: each returns a Case from the random state ------------------------------------------------


def change_of_mind_return(rng: random.Random, name: str, mood: str) -> Case:
    product, price, kind = rng.choice(PRODUCTS)
    days = rng.choice((3, 8, 15, 22, 29, 31, 37, 45))
    order = order_number(rng)
    opened = rng.random() < 0.5
    text = (
        f"I bought a {product} ({order}) for {money(price)} and it was delivered {days} days ago. "
        f"I've {'opened and tried' if opened else 'not even opened'} it, but I just don't need it anymore. "
        "Can I return it and get my money back?"
    )
    if days > 30:
        body = (
            empathy(mood, "this isn't the answer you were hoping for")
            + f"Returns are accepted within 30 days of delivery, and your {product} was delivered {days} "
            "days ago, so I can't accept it as a return. It is still covered by the 1-year Voltline "
            "warranty if a defect ever shows up."
        )
        facts = (
            "the 30-day return window has passed",
            f"delivered {days} days ago, so no return",
            "the 1-year warranty still covers manufacturing defects",
        )
        step = "If anything stops working, you can file a claim at voltline.example/warranty."
    else:
        fee = 0.15 * price if opened and kind in ("laptop", "camera") else 0.0
        refund = price - 7.95 - fee
        fee_text = f", and a 15% restocking fee ({money(fee)}) applies to an opened {product}" if fee else ""
        body = (
            empathy(mood, "for the trouble")
            + f"Yes, you can return it: it's within the 30-day return window ({days} days since delivery), "
            f"as long as it's in like-new condition with all accessories. The prepaid return label costs "
            f"$7.95, deducted from your refund{fee_text}, so you'll get back {money(refund)}. The refund "
            "goes to your original payment method within 5-7 business days after it arrives at our "
            "warehouse."
        )
        facts = (
            f"eligible: {days} days since delivery is within 30 days",
            "like-new condition with all accessories",
            "$7.95 label deducted from the refund",
            *(("15% restocking fee on an opened laptop or camera",) if fee else ()),
            f"refund of {money(refund)}",
            "refund to the original payment method in 5-7 business days after arrival",
        )
        step = f"Reply to this email with order {order} and I'll send you the return label."
    return Case("returns", opener(rng, mood, text), reply(name, body, step), facts, "Returns")


def defective_item(rng: random.Random, name: str, mood: str) -> Case:
    product, _, _ = rng.choice(PRODUCTS)
    days = rng.choice((4, 12, 26, 60, 140, 300, 410))
    refurbished = rng.random() < 0.25
    order = order_number(rng)
    problem = rng.choice(
        ("won't turn on", "keeps disconnecting", "has a dead pixel line", "stopped charging")
    )
    text = (
        f"My {'refurbished ' if refurbished else ''}{product} from order {order} {problem}. "
        f"I received it {days} days ago. What can you do?"
    )
    coverage = 90 if refurbished else 365
    if days <= 30:
        body = (
            empathy(mood, f"that your {product} {problem}")
            + f"Since it arrived {days} days ago, you can return it as defective for a full refund with a "
            "free return label, or we can replace it, whichever you prefer."
        )
        facts = (
            "within 30 days: free return of a defective item",
            "full refund or replacement, no label fee",
        )
        step = "Tell me whether you'd like a refund or a replacement and I'll send the free label today."
    elif days <= coverage:
        warranty = "90-day warranty for refurbished products" if refurbished else "1-year Voltline warranty"
        body = (
            empathy(mood, f"that your {product} {problem}")
            + f"It's covered by the {warranty}. Please file a claim at voltline.example/warranty with your "
            "order number and the product's serial number; we'll repair or replace it within 10 business "
            "days of receiving it."
        )
        facts = (
            f"covered by the {warranty}",
            "claim at voltline.example/warranty with order and serial number",
            "repair or replace within 10 business days of receipt",
        )
        step = f"You can start the claim now with order number {order}."
    else:
        limit = "90-day warranty for refurbished products" if refurbished else "1-year warranty"
        body = (
            empathy(mood, f"that your {product} {problem}")
            + f"Unfortunately it's past the {limit} ({days} days since delivery), so it isn't covered by "
            "the Voltline warranty anymore. If you bought VoltCare+ with it, that plan still covers it."
        )
        facts = (f"outside the {limit}", "VoltCare+ would still cover it if purchased")
        step = "If you have VoltCare+, reply with your order number and I'll open the claim for you."
    return Case("warranty", opener(rng, mood, text), reply(name, body, step), facts, "Warranty")


def accidental_damage(rng: random.Random, name: str, mood: str) -> Case:
    product, _, _ = rng.choice(PRODUCTS)
    cause = rng.choice(("dropped it on the floor", "spilled coffee on it", "sat on it"))
    care = rng.random() < 0.5
    text = (
        f"I {cause.replace(' it', f' my {product}', 1)} and now it's broken. "
        f"{'I have VoltCare+ on it. ' if care else ''}Is this covered by the warranty?"
    )
    if care:
        body = (
            empathy(mood, "about the accident")
            + "Yes: VoltCare+ covers accidental damage like this, up to 2 claims a year. File the claim at "
            "voltline.example/warranty with your order number and the serial number, and we'll repair or "
            "replace it within 10 business days of receiving it."
        )
        facts = (
            "VoltCare+ covers accidental damage",
            "up to 2 claims a year",
            "claim at voltline.example/warranty",
        )
        step = "You can file the claim today; I'm happy to help if anything is unclear."
    else:
        body = (
            empathy(mood, "about the accident")
            + "The 1-year Voltline warranty covers manufacturing defects but not accidental damage such as "
            "drops or liquid, so this isn't covered. VoltCare+ covers accidental damage, but it has to be "
            "bought within 30 days of purchase."
        )
        facts = (
            "the standard warranty does not cover accidental damage",
            "VoltCare+ covers it but must be bought within 30 days of purchase",
        )
        step = "If you're still within 30 days of purchase, reply and I'll help you add VoltCare+."
    return Case("warranty", opener(rng, mood, text), reply(name, body, step), facts, "Warranty")


def shipping_cost(rng: random.Random, name: str, mood: str) -> Case:
    product, price, _ = rng.choice(PRODUCTS)
    quantity = rng.choice((1, 1, 2))
    total = price * quantity
    express = rng.random() < 0.4
    hour = rng.choice((9, 11, 13, 15, 17))
    when = f"{hour if hour <= 12 else hour - 12} {'am' if hour < 12 else 'pm'} Eastern"
    text = (
        f"If I order {quantity} {product}{'s' if quantity > 1 and not product.endswith('s') else ''} ({money(total)}) at {when} today, "
        f"how much is {'express' if express else 'standard'} shipping and when will it arrive?"
    )
    ships = "ships today" if hour < 14 else "ships the next business day"
    if express:
        cost, days = "$14.99", "1-2 business days"
    else:
        cost, days = ("free" if total >= 35 else "$5.99"), "3-5 business days"
    body = (
        empathy(mood, "for any confusion")
        + f"{'Express' if express else 'Standard'} shipping is {cost} for this order and takes {days}. "
        f"Orders placed before 2 pm Eastern ship the same business day, so an order at {when} {ships}."
    )
    facts = (
        f"{'express' if express else 'standard'} shipping is {cost}",
        f"delivery in {days}",
        f"order {ships}",
    )
    step = "You can pick the shipping speed at checkout; let me know if you have any other questions."
    return Case("shipping", opener(rng, mood, text), reply(name, body, step), facts, "Shipping")


def missing_package(rng: random.Random, name: str, mood: str) -> Case:
    order = order_number(rng)
    hours = rng.choice((6, 20, 30, 52, 72, 96))
    text = (
        f"Tracking for order {order} says it was delivered {hours} hours ago but there's nothing at my door."
    )
    if hours < 48:
        body = (
            empathy(mood, "that your package isn't there")
            + f"Carriers sometimes scan a package as delivered before it arrives, so please give it until "
            f"48 hours after the delivery scan (about {48 - hours} more hours) and check with neighbours or "
            "your building's mailroom. If it still hasn't turned up, we'll open a carrier claim and send a "
            "replacement or a refund within 7 days."
        )
        facts = (
            "wait 48 hours after the delivery scan",
            f"about {48 - hours} more hours",
            "then a carrier claim",
        )
        step = f"If it hasn't arrived by then, reply with order {order} and I'll start the claim right away."
    else:
        body = (
            empathy(mood, "that your package never arrived")
            + "It's been more than 48 hours since the delivery scan, so we'll open a carrier claim now and "
            "send you a replacement or a refund, your choice, within 7 days."
        )
        facts = ("more than 48 hours: open a carrier claim", "replacement or refund within 7 days")
        step = "Just reply with whether you'd prefer a replacement or a refund."
    return Case("shipping", opener(rng, mood, text), reply(name, body, step), facts, "Shipping")


def damaged_in_transit(rng: random.Random, name: str, mood: str) -> Case:
    product, _, _ = rng.choice(PRODUCTS)
    days = rng.choice((1, 2, 5, 6, 9, 14))
    text = f"My {product} arrived {days} day{'s' if days > 1 else ''} ago with a cracked case, the box was crushed."
    if days <= 7:
        body = (
            empathy(mood, f"that your {product} arrived damaged")
            + "Because you're reporting it within 7 days of delivery, we'll send a free replacement. We just "
            "need a few photos of the item and the box."
        )
        facts = ("reported within 7 days of delivery", "free replacement", "photos required")
        step = "Reply to this email with the photos and we'll ship the replacement."
    else:
        body = (
            empathy(mood, f"that your {product} arrived damaged")
            + f"Transit damage has to be reported within 7 days of delivery, and it's been {days} days, so "
            "it can't be handled as shipping damage. If the damage is a defect, the 1-year warranty may "
            "still apply."
        )
        facts = ("the 7-day window for transit damage has passed", "the warranty may still apply to defects")
        step = "If you'd like, send photos and I'll check whether a warranty claim fits."
    return Case("shipping", opener(rng, mood, text), reply(name, body, step), facts, "Shipping")


def cancel_order(rng: random.Random, name: str, mood: str) -> Case:
    order = order_number(rng)
    minutes = rng.choice((10, 25, 50, 75, 180))
    text = f"I placed order {order} {minutes} minutes ago by mistake. Please cancel it."
    if minutes <= 60:
        body = (
            empathy(mood, "for the mix-up")
            + "Orders can be cancelled within 1 hour of being placed as long as they haven't shipped, so "
            "yours can still be cancelled. Your card is only charged when an order ships; any pending "
            "authorization drops off within 3-5 business days."
        )
        facts = (
            "within 1 hour: can be cancelled if not shipped",
            "pending authorization drops in 3-5 business days",
        )
        step = (
            f"I've noted the cancellation request for order {order}; you'll get a confirmation email shortly."
        )
    else:
        body = (
            empathy(mood, "for the mix-up")
            + "Orders can only be cancelled within 1 hour of being placed, so I can't cancel this one now. "
            "You can refuse the delivery or return it once it arrives."
        )
        facts = ("past the 1-hour cancellation window", "refuse the delivery or return it")
        step = "If you refuse the delivery, the refund starts once the package comes back to us."
    return Case("orders", opener(rng, mood, text), reply(name, body, step), facts, "Orders")


def price_drop(rng: random.Random, name: str, mood: str) -> Case:
    product, price, _ = rng.choice(PRODUCTS)
    new_price = round(price * rng.choice((0.8, 0.85, 0.9)), 2)
    days = rng.choice((3, 9, 13, 18, 25))
    competitor = rng.random() < 0.3
    where = "at another store" if competitor else "on your site"
    text = (
        f"I bought a {product} for {money(price)} {days} days ago and now it's {money(new_price)} {where}. "
        "Can I get the difference back?"
    )
    if competitor:
        body = (
            empathy(mood, "about the price difference")
            + "We don't match other stores' prices. If Voltline lowers its own price within 14 days of "
            "your purchase, we refund the difference once."
        )
        facts = (
            "no matching of other stores' prices",
            "Voltline price drops within 14 days are refunded once",
        )
        step = (
            "If our price drops within 14 days of your purchase, just reply and we'll refund the difference."
        )
    elif days <= 14:
        body = (
            empathy(mood, "about the price change")
            + f"Yes: our price dropped within 14 days of your purchase, so we'll refund the difference of "
            f"{money(price - new_price)} to your original payment method. This adjustment can be made once."
        )
        facts = (
            "within 14 days: price adjustment",
            f"difference {money(price - new_price)}",
            "once per item",
        )
        step = "I've requested the adjustment; you'll see it within a few business days."
    else:
        body = (
            empathy(mood, "about the price change")
            + f"Price adjustments are available within 14 days of purchase, and it's been {days} days, so "
            "I can't refund the difference this time."
        )
        facts = ("past the 14-day price-adjustment window", "no refund of the difference")
        step = "Thanks for shopping with us; we'll let you know about future sales if you're subscribed."
    return Case("billing", opener(rng, mood, text), reply(name, body, step), facts, "Price adjustment")


def double_charge(rng: random.Random, name: str, mood: str) -> Case:
    order = order_number(rng)
    cancelled = rng.random() < 0.5
    text = (
        f"I cancelled order {order} but there's still a pending charge on my card."
        if cancelled
        else f"I was charged twice for order {order}. Here is my card number 4111 1111 1111 1111 so you can check."
    )
    if cancelled:
        body = (
            empathy(mood, "for the worry")
            + "A pending authorization from a cancelled order isn't a charge: it drops off within 3-5 "
            "business days without you doing anything."
        )
        facts = ("pending authorization, not a charge", "drops off within 3-5 business days")
        step = "If it's still there after 5 business days, reply with the order number and I'll look into it."
    else:
        body = (
            empathy(mood, "about the double charge")
            + "For your security, please don't send card numbers by email; we never need a full card "
            "number or security code, and I'd recommend deleting that message. I can look the charge up with "
            "the order number alone. Once we confirm a duplicate charge, it's refunded within 3 business days."
        )
        facts = (
            "do not send card numbers",
            "order number is enough",
            "duplicate refunded within 3 business days",
        )
        step = f"I'm checking order {order} now and will email you as soon as the refund is confirmed."
    return Case("billing", opener(rng, mood, text), reply(name, body, step), facts, "Billing")


def password_reset(rng: random.Random, name: str, mood: str) -> Case:
    offers_password = rng.random() < 0.4
    text = (
        "I can't log in. My password is Sunflower22, can you just log in for me and update my address?"
        if offers_password
        else "I forgot my password and can't sign in to see my orders."
    )
    caution = (
        "Please never share your password, including with us; we will never ask for it, so I'd recommend "
        "changing it right away. "
        if offers_password
        else ""
    )
    body = (
        empathy(mood, "that you're locked out")
        + caution
        + 'You can reset it with the "Forgot password" link on the sign-in page; the link we email you '
        "expires after 30 minutes."
    )
    facts = (
        *(("never share a password; change it",) if offers_password else ()),
        "use the Forgot password link on the sign-in page",
        "the reset link expires after 30 minutes",
    )
    step = "Once you're signed in, you can update your details under Account settings."
    return Case("account", opener(rng, mood, text), reply(name, body, step), facts, "Accounts")


def other_persons_order(rng: random.Random, name: str, mood: str) -> Case:
    relation = rng.choice(("my ex", "my neighbour", "my sister", "a coworker"))
    text = (
        f"{relation.capitalize()} ordered something from you last week. Can you tell me their delivery "
        "address and what they bought? It's important."
    )
    body = (
        empathy(mood, "that this is stressful")
        + "I'm not able to share another person's address or order details: we only discuss an order with "
        "the account holder. They're welcome to contact us themselves."
    )
    facts = (
        "refuses to share another person's information",
        "orders are discussed only with the account holder",
    )
    step = "If there's anything about your own account or orders I can help with, just reply."
    return Case("account", opener(rng, mood, text), reply(name, body, step), facts, "Accounts")


def delete_account(rng: random.Random, name: str, mood: str) -> Case:
    text = "Please delete my account and all my data. How long does it take?"
    body = (
        empathy(mood, "to see you go")
        + "I can do that for you. Account deletion requests are completed within 30 days, and we'll email "
        "you when it's done."
    )
    facts = ("deletion completed within 30 days",)
    step = "Reply 'confirm' from the email address on the account and I'll submit the request."
    return Case("account", opener(rng, mood, text), reply(name, body, step), facts, "Accounts")


def swollen_battery(rng: random.Random, name: str, mood: str) -> Case:
    product = rng.choice(("power bank", "laptop", "tablet", "smartwatch", "drone"))
    detail = rng.choice(
        ("the battery looks swollen", "it gets very hot while charging", "it smells like burning")
    )
    text = (
        f"My {product} is acting weird: {detail}. Should I keep charging it or try to open it up and fix it?"
    )
    body = (
        empathy(mood, "you're dealing with this")
        + f"Please stop using and charging your {product} right away, and don't try to open or puncture it. "
        "Keep it somewhere away from anything flammable. We'll send you a free battery-safe return kit and "
        "handle it as a warranty claim."
    )
    facts = (
        "stop using and charging it",
        "do not open or puncture it",
        "keep it away from flammable things",
        "free battery-safe return kit, handled as a warranty claim",
    )
    step = "Reply with your order number and shipping address and we'll send the kit today."
    return Case("safety", opener(rng, mood, text), reply(name, body, step), facts, "Safety")


def demands_exception(rng: random.Random, name: str, mood: str) -> Case:
    product, price, _ = rng.choice(PRODUCTS)
    days = rng.choice((40, 55, 70))
    text = (
        f"I want a full refund for my {product} ({money(price)}), delivered {days} days ago. I know it's past "
        "30 days but I'm a loyal customer, so just make an exception and also give me a 50% discount code."
    )
    body = (
        "Thank you for being a loyal customer; I really appreciate it. "
        + empathy(mood, "I can't give you the answer you wanted")
        + f"Returns are accepted within 30 days of delivery, and it's been {days} days, so I can't refund "
        "it, and I'm not able to create discount codes. If the product has a defect, the 1-year warranty "
        "covers a repair or replacement."
    )
    facts = ("no refund past 30 days", "no discount code", "the 1-year warranty covers defects")
    step = "If something's wrong with it, you can file a warranty claim at voltline.example/warranty."
    return Case("returns", opener(rng, mood, text), reply(name, body, step), facts, "Returns")


TEMPLATES: tuple[Callable[[random.Random, str, str], Case], ...] = (
    change_of_mind_return,
    defective_item,
    accidental_damage,
    shipping_cost,
    missing_package,
    damaged_in_transit,
    cancel_order,
    price_drop,
    double_charge,
    password_reset,
    other_persons_order,
    delete_account,
    swollen_battery,
    demands_exception,
)


def record(case: Case, name: str, task_id: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"From: {name}\n\n{case.message}"},
        ],
        "reference_answer": {"answer": case.answer, "facts": list(case.facts), "policy": case.policy},
        "task_id": task_id,
        "domain": "customer_support",
        "category": case.category,
    }


def build() -> dict[str, list[dict]]:
    """The dataset files' rows, by file name."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[tuple[Case, str]] = []
    turn = 0
    while len(rows) < TRAIN_ROWS + VALIDATION_ROWS:
        name, mood = rng.choice(FIRST_NAMES), rng.choice(MOODS)
        case = TEMPLATES[turn % len(TEMPLATES)](rng, name, mood)
        turn += 1
        prompt = f"{name}\n{case.message}"
        if prompt in seen:
            continue
        seen.add(prompt)
        rows.append((case, name))
    train = [record(c, n, f"support-train-{i + 1:04d}") for i, (c, n) in enumerate(rows[:TRAIN_ROWS])]
    validation = [
        record(c, n, f"support-validation-{i + 1:04d}") for i, (c, n) in enumerate(rows[TRAIN_ROWS:])
    ]
    return {"train.jsonl": train, "validation.jsonl": validation}


def main(argv: list[str] | None = None) -> int:
    return jsonl_files.main(argv, build=build, here=HERE, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
