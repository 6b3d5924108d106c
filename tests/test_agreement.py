"""rft.agreement: each statistic against values computed by hand (the kit has no scipy to compare with)."""

from __future__ import annotations

import math

import pytest

from rft.agreement import (
    bootstrap_kappa,
    confusion,
    exact,
    pearson,
    quadratic_kappa,
    ranks,
    spearman,
    within_one,
)


def test_exact_and_within_one_count_pairs():
    """4 pairs: two equal, one a step apart, one two steps apart."""
    human, judge = [0, 1, 2, 3], [0, 1, 3, 1]
    assert exact(human, judge) == 0.5
    assert within_one(human, judge) == 0.75
    assert exact([], []) is None


def test_confusion_rows_are_the_first_rater():
    assert confusion([0, 0, 1], [1, 1, 1], 2) == [[0, 2], [0, 1]]


def test_quadratic_kappa_by_hand():
    """k=3, pairs (0,0) (1,1) (2,2) (0,1) (2,1): weights (i-j)^2/4.
    Observed weighted disagreement = 2 * 1/4 = 0.5. Marginals: human [2,1,2], judge [1,3,1], n=5.
    Expected = sum w_ij * r_i * c_j / 5 = (1/4)(2*3 + 1*1 + 1*1 + 2*3)/5 + (4/4)(2*1 + 2*1)/5 = 0.7 + 0.8 = 1.5.
    kappa = 1 - 0.5/1.5 = 2/3."""
    kappa = quadratic_kappa([0, 1, 2, 0, 2], [0, 1, 2, 1, 1], 3)
    assert kappa == pytest.approx(2 / 3)


def test_quadratic_kappa_extremes():
    assert quadratic_kappa([0, 1, 2, 3], [0, 1, 2, 3], 4) == pytest.approx(1.0)
    # Full reversal on a 2-label scale: observed 2 disagreements of weight 1; expected (1*1 + 1*1)/2 = 1.
    assert quadratic_kappa([0, 1], [1, 0], 2) == pytest.approx(-1.0)
    # Both raters constant on the same label: chance disagreement is 0, kappa is undefined.
    assert quadratic_kappa([1, 1, 1], [1, 1, 1], 3) is None
    assert quadratic_kappa([], [], 3) is None


def test_kappa_of_independent_raters_is_zero():
    """Judge labels independent of the human's (every combination once): observed == expected."""
    human = [i for i in range(3) for _ in range(3)]
    judge = [j for _ in range(3) for j in range(3)]
    assert quadratic_kappa(human, judge, 3) == pytest.approx(0.0)


def test_ranks_share_ties():
    assert ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]


def test_spearman_by_hand():
    """x ranks [1,2,3,4,5], y = [2,1,4,3,5] ranks themselves: d^2 = 1+1+1+1+0 = 4, rho = 1 - 6*4/(5*24) = 0.8."""
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_spearman_with_ties_is_pearson_of_average_ranks():
    """x = [0, 0, 1, 1] -> ranks [1.5, 1.5, 3.5, 3.5]; y = [0, 1, 1, 2] -> [1, 2.5, 2.5, 4].
    Centered: x' = [-1,-1,1,1], y' = [-1.5, 0, 0, 1.5]; r = 3 / sqrt(4 * 4.5) = 0.7071."""
    assert spearman([0, 0, 1, 1], [0, 1, 1, 2]) == pytest.approx(3 / math.sqrt(18))
    assert pearson([1, 2], [2, 4]) == pytest.approx(1.0)


def test_lengths_must_match():
    with pytest.raises(ValueError):
        exact([0], [0, 1])


def test_bootstrap_interval_brackets_kappa_and_narrows_with_rows():
    """Rows agreeing on 3 of 4: the interval holds the point estimate; 4x the rows give a narrower one."""
    rows = [([i % 3], [i % 3 if i % 4 else (i + 1) % 3]) for i in range(40)]
    point = quadratic_kappa([h[0] for h, _ in rows], [j[0] for _, j in rows], 3)
    low, high = bootstrap_kappa(rows, 3)
    assert low <= point <= high and high - low > 0.05
    low4, high4 = bootstrap_kappa(rows * 4, 3)
    assert high4 - low4 < high - low
    assert bootstrap_kappa(rows, 3) == (low, high)  # seeded: the same every run
    assert bootstrap_kappa(rows[:1], 3) is None
    assert bootstrap_kappa([([1], [1])] * 5, 3) is None  # kappa undefined in every resample
