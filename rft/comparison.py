"""Tuned against base, per prompt: the mean reward difference with its paired bootstrap interval, and the
wins, ties and losses (``rft eval``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rft import measure
from rft.stats import paired_bootstrap


def compare(base: Sequence[measure.PromptStats], tuned: Sequence[measure.PromptStats]) -> dict[str, Any]:
    """Per-prompt comparison over the prompts both models have graded samples for."""
    paired = [(b, t) for b, t in zip(base, tuned) if b.rewards and t.rewards]
    differences = [t.mean - b.mean for b, t in paired]
    wins = sum(d > measure.EQUAL_TOLERANCE for d in differences)
    losses = sum(d < -measure.EQUAL_TOLERANCE for d in differences)
    low, high = paired_bootstrap(differences)
    return {
        "prompts": len(paired),
        "delta": sum(differences) / len(differences),
        "delta_ci95": [low, high],
        "wins": wins,
        "ties": len(differences) - wins - losses,
        "losses": losses,
        "better": low > 0,
    }
