"""The baselines recover a known shift of a motion-energy signal (and zero assumes zero)."""

import numpy as np

from s4_core.sync.baselines import offset_by_dtw, offset_by_motion_energy_xcorr, zero_offset_baseline


def _energy(t):
    return np.sin(2 * np.pi * 0.3 * t) ** 2 + 0.5 * np.sin(2 * np.pi * 0.71 * t + 1.0) ** 2


def test_xcorr_recovers_a_shift_across_frame_rates():
    ta = np.arange(0, 8, 1 / 30)
    tb = np.arange(0, 8, 1 / 25)
    # B stamps each instant 0.4 s later: its signal at stamp t is A's at t - 0.4.
    got = offset_by_motion_energy_xcorr(ta, _energy(ta), tb, _energy(tb - 0.4))
    assert abs(got - 0.4) < 1 / 30


def test_dtw_recovers_a_shift_roughly_and_zero_is_zero():
    ta = np.arange(0, 4, 1 / 15)
    got = offset_by_dtw(ta, _energy(ta), ta, _energy(ta - 0.2))
    assert abs(got - 0.2) < 2 / 15
    assert zero_offset_baseline() == 0.0
