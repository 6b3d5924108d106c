"""Statistics of scores: distribution summaries, percentiles, a text histogram, and the paired bootstrap
interval of a mean difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rft.errors import EXIT_FAILURE, CliError


@dataclass(frozen=True)
class Summary:
    """Distribution of a list of scores."""

    n: int
    mean: float
    std: float
    min: float
    p10: float
    p50: float
    p90: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("n", "mean", "std", "min", "p10", "p50", "p90", "max")}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of sorted values, linearly interpolated (numpy's default)."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[float]) -> Summary:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Summary(0, *([math.nan] * 7))
    mean = math.fsum(ordered) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in ordered) / n)
    return Summary(
        n,
        mean,
        std,
        ordered[0],
        percentile(ordered, 10),
        percentile(ordered, 50),
        percentile(ordered, 90),
        ordered[-1],
    )


def text_histogram(
    values: Sequence[float], *, low: float = -1.0, high: float = 1.0, bins: int = 10, width: int = 40
) -> str:
    """A horizontal histogram of ``values`` over [low, high], one line per bin (the last bin is closed)."""
    counts = [0] * bins
    span = (high - low) / bins
    for value in values:
        index = int((value - low) / span) if span > 0 else 0
        counts[min(max(index, 0), bins - 1)] += 1
    peak = max(counts) or 1
    lines = []
    for i, count in enumerate(counts):
        left, right = low + i * span, low + (i + 1) * span
        closing = "]" if i == bins - 1 else ")"
        bar = "█" * round(width * count / peak)
        if count and not bar:
            bar = "▏"
        lines.append(f"  [{left:+.1f}, {right:+.1f}{closing} {bar:<{width}} {count}")
    return "\n".join(lines)


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def paired_bootstrap(
    differences: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile interval of the mean of ``differences`` (one per prompt), prompts resampled."""
    import numpy as np

    values = np.asarray(differences, dtype=float)
    if values.size == 0:
        raise CliError("no prompt has graded samples from both models: nothing to compare", EXIT_FAILURE)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)
