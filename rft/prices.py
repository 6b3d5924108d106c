"""What sampling costs: a small, dated table of on-demand token prices and the estimate ``rft baseline``
and ``rft eval`` print before their first call.

Prices change: the table is dated and the estimate says so. Cross-region inference profiles cost the
source region's on-demand price (AWS Bedrock pricing page). A custom model deployment (on-demand inference
of a fine-tuned model) is assumed to cost its base model's token price; check the pricing page.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.models import foundation_of

#: When the table was last checked.
PRICES_AS_OF = "2026-01"
#: USD per 1,000,000 tokens (input, output), on-demand, us-east-1. Nova 2 Lite: the price listed for it
#: on Bedrock by AI gateways (aws.amazon.com/bedrock/pricing is authoritative); Nova v1: AWS's list prices.
PRICE_PER_MTOK: dict[str, tuple[float, float]] = {
    "amazon.nova-2-lite-v1:0": (0.33, 2.75),
    "amazon.nova-pro-v1:0": (0.80, 3.20),
    "amazon.nova-lite-v1:0": (0.06, 0.24),
    "amazon.nova-micro-v1:0": (0.035, 0.14),
}
#: Above this estimate (USD) the commands ask before calling (``--yes`` skips the question).
CONFIRM_ABOVE_USD = 1.00
#: Characters per token used to estimate prompt tokens before any call (English prose; assumed).
CHARS_PER_TOKEN = 4.0
#: Output tokens assumed per response before any call, by reasoning effort (capped by max tokens);
#: once responses are cached, their measured mean replaces this guess.
ASSUMED_OUTPUT_TOKENS = {"none": 400, "low": 1200, "medium": 2500, "high": 4000}


def price_of(model_id: str, *, fallback_model: str | None = None) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for ``model_id`` (a deployment takes ``fallback_model``'s)."""
    found = PRICE_PER_MTOK.get(foundation_of(model_id))
    if found is None and fallback_model:
        found = PRICE_PER_MTOK.get(foundation_of(fallback_model))
    return found


@dataclass(frozen=True)
class Estimate:
    """What the calls about to be made should cost."""

    model_id: str
    calls: int
    cached: int
    input_tokens: int
    output_tokens: int
    max_output_tokens: int
    price: tuple[float, float] | None

    @property
    def usd(self) -> float | None:
        if self.price is None:
            return None
        return (self.input_tokens * self.price[0] + self.output_tokens * self.price[1]) / 1e6

    @property
    def usd_max(self) -> float | None:
        if self.price is None:
            return None
        return (self.input_tokens * self.price[0] + self.max_output_tokens * self.price[1]) / 1e6

    def line(self) -> str:
        """One line for the terminal."""
        money = (
            f"~${self.usd:,.2f} (at most ${self.usd_max:,.2f} if every response used its max tokens; "
            f"prices of {PRICES_AS_OF})"
            if self.usd is not None
            else "price unknown for this model (not in rft/prices.py)"
        )
        return (
            f"{self.model_id}: {self.calls:,} calls ({self.cached:,} more cached), "
            f"~{self.input_tokens:,} input + ~{self.output_tokens:,} output tokens, {money}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model_id,
            "calls": self.calls,
            "cached": self.cached,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": None if self.usd is None else round(self.usd, 4),
            "usd_max": None if self.usd_max is None else round(self.usd_max, 4),
            "prices_as_of": PRICES_AS_OF,
        }
