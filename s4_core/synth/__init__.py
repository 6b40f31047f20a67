"""Synthetic multi-camera world: the ground truth every s4 test and benchmark is checked against.

Analytic ray casting in NumPy (independent of the project's splat renderer) of a textured room
and moving, deforming and articulated bodies, seen by calibrated cameras with their own frame
rates and clocks; writes rosbag2 recordings with a ground-truth JSON beside them.
"""

from s4_core.synth.config import TIME_BASE_S, SynthConfig
from s4_core.synth.rig import FrameTimes
from s4_core.synth.world import GroundTruthTracks, RenderedView, SurfacePoints, SyntheticWorld

__all__ = [
    "TIME_BASE_S",
    "FrameTimes",
    "GroundTruthTracks",
    "RenderedView",
    "SurfacePoints",
    "SynthConfig",
    "SyntheticWorld",
]
