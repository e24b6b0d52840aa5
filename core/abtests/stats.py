"""The statistics of an A/B test, with the standard library only (``statistics.NormalDist``).

- Proportions (confirmation, response, open, click rates): the two-proportion z-test with the
  pooled standard error, two-sided p-value; the confidence interval of the difference uses the
  unpooled (Wald) standard error.
- Cost per conversion (a ratio): costs are taken as fixed and the uncertainty as the binomial
  count of conversions, so by the delta method Var(cost/x) ≈ (cost/x)² · (1 − p) / (n · p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
#: The standard normal distribution, Φ.
STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Comparison:
    """Group B against group A: ``difference`` is B − A."""

    value_a: float | None
    value_b: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None
    significant: bool


_UNDECIDED = Comparison(None, None, None, None, None, None, None, False)


def _compare(value_a: float, value_b: float, pooled_se: float, wald_se: float, alpha: float):
    difference = value_b - value_a
    margin = STANDARD_NORMAL.inv_cdf(1 - alpha / 2) * wald_se
    if pooled_se == 0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / pooled_se
        p_value = 2 * (1 - STANDARD_NORMAL.cdf(abs(z)))
    return Comparison(
        value_a,
        value_b,
        difference,
        difference - margin,
        difference + margin,
        z,
        p_value,
        p_value < alpha,
    )


def compare_proportions(
    successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = ALPHA
) -> Comparison:
    """Two-proportion z-test and Wald interval of p_B − p_A."""
    if n_a <= 0 or n_b <= 0:
        return _UNDECIDED
    p_a, p_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    wald_se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return _compare(p_a, p_b, pooled_se, wald_se, alpha)


def compare_cost_per_conversion(
    cost_a: float,
    conversions_a: int,
    n_a: int,
    cost_b: float,
    conversions_b: int,
    n_b: int,
    alpha: float = ALPHA,
) -> Comparison:
    """Cost per conversion B − A, with a delta-method standard error (no conversions: undecided)."""
    if min(conversions_a, conversions_b, n_a, n_b) <= 0:
        return _UNDECIDED
    cpc_a, cpc_b = cost_a / conversions_a, cost_b / conversions_b
    var_a = cpc_a**2 * (1 - conversions_a / n_a) / conversions_a
    var_b = cpc_b**2 * (1 - conversions_b / n_b) / conversions_b
    se = math.sqrt(var_a + var_b)
    return _compare(cpc_a, cpc_b, se, se, alpha)
