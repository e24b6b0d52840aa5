"""decide rounds confidences and scores without ``round``'s decimal digits when it safely can:
the result is exactly ``round``'s, value and sign of zero."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.orchestrator.decide import _round

#: Halves in decimal that are not halves in binary (1.115 is 1.11499…, times 100 gives 111.5),
#: signed zeros, tiny negatives (-0.0 once rounded), the extremes.
EDGES = [1.115, 0.285, 1.005, 2.675, 0.0005, 0.0015, -0.004, -0.0, 0.0, 1e-300, -1e-300,
         0.9995, 1e15, -1e16, 1e300, math.inf, -math.inf]  # fmt: skip


def _same(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


@pytest.mark.parametrize("digits", [2, 3])
@pytest.mark.parametrize("x", EDGES)
def test_edges_round_as_round(x: float, digits: int) -> None:
    assert _same(_round(x, 10.0**digits, digits), round(x, digits))


@given(
    st.floats(allow_infinity=False)
    | st.integers(-(10**7), 10**7).map(lambda k: k / 2000)  # halves of the last digit
    | st.floats(-1000, 1000),
    st.sampled_from([2, 3]),
)
def test_any_float_rounds_as_round(x: float, digits: int) -> None:
    assert _same(_round(x, 10.0**digits, digits), round(x, digits))
