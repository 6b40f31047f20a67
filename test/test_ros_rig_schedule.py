"""The synthetic rig publisher's pacing: each camera streams at its own steady rate, loop after
loop, whatever its clock offset."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("rclpy")

from s4_ros.synth_rig_publisher import paced_schedule  # noqa: E402

NS_PER_S = 1_000_000_000


def test_each_camera_keeps_its_rate_across_the_loop_seam():
    """Three cameras, one of them 2.4 s ahead of the others and one at 25 fps, over four
    8-s loops: every camera's frames are due one frame period apart throughout, all frames
    come in due order, and loop k repeats the recording k periods later."""
    period_ns = 8 * NS_PER_S
    fps = {"a": 30.0, "b": 25.0, "c": 30.0}
    offsets_ns = {"a": 0, "b": 137_000_000, "c": 2_400_000_000}
    stamps_ns = {c: [offsets_ns[c] + round(i * NS_PER_S / fps[c]) for i in range(int(8 * fps[c]))] for c in fps}
    frames_in_four_loops = 4 * sum(map(len, stamps_ns.values()))
    schedule = list(itertools.islice(paced_schedule(stamps_ns, period_ns), frames_in_four_loops))

    dues = [due for due, *_ in schedule]
    assert dues == sorted(dues)
    for camera, rate in fps.items():
        mine = [(due, index, loop) for due, c, index, loop in schedule if c == camera]
        assert len(mine) >= 3 * len(stamps_ns[camera])  # none starved behind another camera
        gaps_s = np.diff([due for due, _, _ in mine]) / NS_PER_S
        np.testing.assert_allclose(gaps_s, 1.0 / rate, atol=1e-6)
        for due, index, loop in mine:
            assert due == stamps_ns[camera][index] + loop * period_ns
