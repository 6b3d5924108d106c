"""How far two raters agree on an ordinal scale: the statistics behind ``rft judge-check``.

Labels are indices on a scale ordered worst -> best (``0 .. k-1``). Pure functions, no dependencies
(numpy/scipy are not the kit's dependencies); each is pinned by tests against hand-computed values.

- ``exact``: share of pairs with the same label.
- ``within_one``: share of pairs at most one step apart.
- ``quadratic_kappa``: Cohen's kappa with quadratic weights,
  ``1 - sum(w_ij * O_ij) / sum(w_ij * E_ij)`` with ``w_ij = (i - j)^2 / (k - 1)^2``, ``O`` the observed
  confusion counts and ``E`` the counts expected by chance from the two raters' marginals. 1 = perfect,
  0 = chance, < 0 = worse than chance; ``None`` when chance disagreement is 0 (both raters always give
  one and the same label: nothing to measure).
- ``spearman``: Spearman's rho, the Pearson correlation of the ranks (ties get their average rank);
  ``None`` when either side is constant or there are fewer than 2 pairs.
- ``confusion``: the k x k count matrix, rows = the first rater (the human), columns = the second (the
  judge).
- ``bootstrap_kappa``: a 95% percentile bootstrap interval of ``quadratic_kappa``, resampling whole rows
  (the pairs of one row stay together: its repeats and criteria are not independent).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def _check(a: Sequence[float], b: Sequence[float]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired ratings of different lengths: {len(a)} and {len(b)}")


def exact(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Share of pairs with the same label (``None`` without pairs)."""
    _check(a, b)
    return sum(x == y for x, y in zip(a, b)) / len(a) if a else None


def within_one(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Share of pairs at most one scale step apart (``None`` without pairs)."""
    _check(a, b)
    return sum(abs(x - y) <= 1 for x, y in zip(a, b)) / len(a) if a else None


def confusion(a: Sequence[int], b: Sequence[int], k: int) -> list[list[int]]:
    """Counts ``m[i][j]`` of pairs where ``a`` said label ``i`` and ``b`` said ``j``."""
    _check(a, b)
    matrix = [[0] * k for _ in range(k)]
    for x, y in zip(a, b):
        matrix[x][y] += 1
    return matrix


def quadratic_kappa(a: Sequence[int], b: Sequence[int], k: int) -> float | None:
    """Cohen's quadratic-weighted kappa of two raters on a ``k``-label ordinal scale (see the module doc)."""
    _check(a, b)
    n = len(a)
    if n == 0 or k < 2:
        return None
    observed = confusion(a, b, k)
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    top = (k - 1) ** 2
    disagreement = expected = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / top
            disagreement += w * observed[i][j]
            expected += w * rows[i] * cols[j] / n
    if expected == 0:
        return None
    return 1.0 - disagreement / expected


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values``, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        for m in range(i, j + 1):
            out[order[m]] = average
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r (``None`` when either side has no variance or there are fewer than 2 pairs)."""
    _check(x, y)
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((p - mx) * (q - my) for p, q in zip(x, y))
    sxx = sum((p - mx) ** 2 for p in x)
    syy = sum((q - my) ** 2 for q in y)
    if sxx == 0 or syy == 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the (average) ranks."""
    _check(x, y)
    return pearson(ranks(x), ranks(y))


def bootstrap_kappa(
    rows: Sequence[tuple[Sequence[int], Sequence[int]]], k: int, *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """(2.5th, 97.5th) percentile of ``quadratic_kappa`` over ``resamples`` resamples of ``rows`` (each a
    pair of equal-length label lists), drawn with replacement from a seeded stream; ``None`` with fewer
    than 2 rows or when kappa is undefined in more than half of the resamples."""
    if len(rows) < 2:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        a: list[int] = []
        b: list[int] = []
        for _ in range(len(rows)):
            h, j = rows[rng.randrange(len(rows))]
            a.extend(h)
            b.extend(j)
        kappa = quadratic_kappa(a, b, k)
        if kappa is not None:
            values.append(kappa)
    if len(values) * 2 < resamples:
        return None
    values.sort()
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]
