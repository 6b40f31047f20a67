"""Order statistics that numpy computes slowly on the shapes s4 uses."""

from __future__ import annotations

import numpy as np


def nanmedian_over_first_axis(values: np.ndarray) -> np.ndarray:
    """``np.nanmedian(values, axis=0)`` [...] of ``values`` [T, ...], by one sort.

    numpy's nanmedian goes through masked arrays when NaNs are present: per-pixel depth
    backgrounds and time-aligned track distances (NaN where unseen) took it several times
    longer than a sort along the axis, NaNs last, and reading the middle of each column's
    valid values. All-NaN columns give NaN, silently.
    """
    ordered = np.sort(values, axis=0)
    count = np.sum(~np.isnan(values), axis=0)
    below = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[None], axis=0)[0]
    above = np.take_along_axis(ordered, np.maximum(count // 2, 0)[None], axis=0)[0]
    middle = below + (above - below) / 2
    return np.where(count > 0, middle, np.nan)
