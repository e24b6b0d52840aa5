"""The A/B statistics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from core.abtests.stats import (
    compare_cost_per_conversion,
    compare_proportions,
)


def test_two_proportion_z_test_significant_case() -> None:
    # A: 120/1000 = 0.12, B: 150/1000 = 0.15, difference 0.03.
    # pooled p = 270/2000 = 0.135; SE = sqrt(0.135 * 0.865 * (1/1000 + 1/1000)) = 0.0152823
    # z = 0.03 / 0.0152823 = 1.96305; p = 2 * (1 - Φ(1.96305)) = 0.04964
    # Wald SE = sqrt(0.12*0.88/1000 + 0.15*0.85/1000) = 0.0152676
    # 95 % CI = 0.03 ± 1.95996 * 0.0152676 = [0.0000760, 0.0599240]
    result = compare_proportions(120, 1000, 150, 1000)
    assert result.value_a == 0.12 and result.value_b == 0.15
    assert result.difference == pytest.approx(0.03)
    assert result.z == pytest.approx(1.96305, abs=1e-5)
    assert result.p_value == pytest.approx(0.04964, abs=1e-5)
    assert result.ci_low == pytest.approx(0.0000760, abs=1e-6)
    assert result.ci_high == pytest.approx(0.0599240, abs=1e-6)
    assert result.significant


def test_two_proportion_z_test_not_significant_case() -> None:
    # A: 100/1000, B: 110/1000; pooled 0.105; SE = sqrt(0.105*0.895*0.002) = 0.0137095
    # z = 0.01 / 0.0137095 = 0.72942; p = 0.46574
    result = compare_proportions(100, 1000, 110, 1000)
    assert result.z == pytest.approx(0.72942, abs=1e-5)
    assert result.p_value == pytest.approx(0.46574, abs=1e-5)
    assert result.ci_low < 0 < result.ci_high
    assert not result.significant


def test_degenerate_inputs() -> None:
    assert compare_proportions(0, 0, 1, 10).p_value is None
    same = compare_proportions(0, 10, 0, 10)
    assert (same.z, same.p_value, same.significant) == (0.0, 1.0, False)


def test_cost_per_conversion_by_the_delta_method() -> None:
    # A: 10 EUR for 20 conversions out of 100 -> 0.50; B: 2 EUR for 20 out of 100 -> 0.10.
    # Var_A = 0.5² * 0.8 / 20 = 0.01; Var_B = 0.1² * 0.8 / 20 = 0.0004; SE = sqrt(0.0104)
    # difference = -0.4; z = -0.4 / 0.1019804 = -3.92232
    result = compare_cost_per_conversion(10.0, 20, 100, 2.0, 20, 100)
    assert result.difference == pytest.approx(-0.4)
    assert result.z == pytest.approx(-0.4 / math.sqrt(0.0104))
    assert result.z == pytest.approx(-3.92232, abs=1e-5)
    assert result.significant
    assert compare_cost_per_conversion(1.0, 0, 10, 1.0, 3, 10).significant is False
