"""Short soak of the all-in-one over real DDS: memory stays bounded, the frame queue stays capped.

The long version (4 cameras, 320x240, 60 s) is ``s4 bench --only nodes``; both run through
:mod:`s4_ros.node_set_probe` (publisher process, all-in-one process, this process subscribing
and sampling the node's RSS once a second).

What the node keeps is bounded in two ways. Windowed: per camera an 8-s depth history
(30 fps x 80x60 float32, ~4.6 MB), a 2-s track window (~60 frames x ~700 tracks x 25 B, ~1 MB),
the splat model's 2-s frame window, and a frame queue of 60 frames (160x120 RGB + float depth,
~4 MB): ~20 MB for two cameras. Capped: the splat model's Gaussians, which densification adds
up to ``densify.max_gaussians``. At the default cap (20,000) this rig's model grows for over a
minute (4.8k Gaussians seeded, 13k at 35 s of scene, measured offline), and with it the
renderer's per-step memory: the first 22-s soak on CI grew 580 -> 679 MB from its middle to its
end, all of it that growth. So the soak caps the model below its seeded size
(``MAX_GAUSSIANS``): after the seeds it only prunes, and what is left to grow is what a leak
would add.

Why ``RSS_GROWTH_BOUND_MB``, with the cap: RSS reaches ~600 MB within ~10 s and then swings by
+-40 MB (torch's allocations through glibc malloc); the medians of the two 5-s spans compared
differed by -3 to +45 MB over four runs. 80 MB covers that and a seeding step that lands late
on a loaded machine; a leak of two decoded frames per processed frame (~270 KB x ~600 frames
between the spans) exceeds it: injected, it grew the medians by 173 MB.
"""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy")
from s4_ros.node_set_probe import NodeSetScenario, run_node_set  # noqa: E402

pytestmark = pytest.mark.slow

RUN_S = 30.0
#: RSS spans compared: after the start-up (seeding, windows filling) and the end of the run. The
#: start-up ramp ended at 8-13 s in three runs on an idle machine, and a span that still caught
#: it failed the bound once in a full suite: the first span starts at 12 s, and the run is
#: longer so that the spans' centres stay 13 s apart (12 s when the leak below was injected).
SETTLED_SPAN_S, END_SPAN_S = (12.0, 17.0), (RUN_S - 5.0, RUN_S)
MAX_PENDING_FRAMES = 60
RSS_GROWTH_BOUND_MB = 80.0
MAX_GAUSSIANS = 2000
PARAMETERS = {
    "/**/pipeline": {"ros__parameters": {"max_pending_frames": MAX_PENDING_FRAMES, "pipeline": {
        "reestimate_period_s": 1.0,
        "tracking": {"window_s": 2.0, "queries": {"grid_step_px": 12}},
        "sync_window": {"match": {"max_tracks": 80}},
        "splats": {"steps_per_frame": 1, "densify": {"max_gaussians": MAX_GAUSSIANS}},
    }}},
}  # fmt: skip


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    return run_node_set(NodeSetScenario({}, RUN_S, PARAMETERS), tmp_path_factory.mktemp("soak"))


def test_memory_stays_bounded(soak):
    settled, end = soak.rss_median(*SETTLED_SPAN_S), soak.rss_median(*END_SPAN_S)
    assert end - settled < RSS_GROWTH_BOUND_MB, f"RSS grew {settled:.0f} -> {end:.0f} MB; samples {soak.rss_mb}"


def test_pending_frames_never_exceed_their_cap(soak):
    queue = soak.queue
    assert queue, "no diagnostics from the all-in-one"
    assert queue["queue_capacity"] == MAX_PENDING_FRAMES
    assert queue["queue_peak_pending"] <= queue["queue_capacity"], queue
    assert queue["queue_taken"] > 0, f"the pipeline processed no frame: {queue}"
    assert queue["queue_queued"] == queue["queue_taken"] + queue["queue_dropped"] + queue["queue_pending"], queue


def test_offsets_keep_coming(soak):
    assert soak.latencies_s, "no estimate reached the offsets"
    assert {o.camera for o in soak.offsets} == {"cam0", "cam1"}
