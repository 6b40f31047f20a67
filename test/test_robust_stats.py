"""The fast NaN-aware median against numpy's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from s4_core.robust_stats import nanmedian_over_first_axis


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 7), (2, 5), (9, 4, 3), (40, 30, 20)])
def test_equals_numpy_nanmedian_with_even_odd_and_empty_columns(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    values = rng.normal(2.0, 1.0, shape).astype(dtype)
    values[rng.random(shape) < 0.4] = np.nan
    values[:, 0] = np.nan  # a column that never measured
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the all-NaN column
        expected = np.nanmedian(values, axis=0)
    got = nanmedian_over_first_axis(values)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
