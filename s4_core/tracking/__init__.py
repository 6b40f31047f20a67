"""Per-stream tracking: frames of one camera -> :class:`~s4_core.tracks.TrackSet`.

``GeometricBackend`` (dense flow + depth) and the St4RTrack network both implement
:class:`TrackerBackend`; :class:`StreamingTracker` turns either into a live sliding-window
tracker with ids stitched across anchors, and :func:`track_clip` does the same for a recorded
clip. Descriptor layout: :data:`DESCRIPTOR_NAMES`. Metrics: :mod:`s4_core.tracking.metrics`.
"""

from s4_core.tracking.backend import TrackerBackend
from s4_core.tracking.descriptors import DESCRIPTOR_DIM, DESCRIPTOR_NAMES, NUM_APPEARANCE, NUM_MOTION
from s4_core.tracking.flow import FlowConfig, FlowMethod
from s4_core.tracking.geometric import GeometricBackend, GeometricConfig
from s4_core.tracking.input_gate import FrameVerdict, StreamHealth
from s4_core.tracking.queries import QueryConfig
from s4_core.tracking.streaming import StreamingConfig, StreamingTracker, track_clip

__all__ = [
    "DESCRIPTOR_DIM",
    "DESCRIPTOR_NAMES",
    "NUM_APPEARANCE",
    "NUM_MOTION",
    "FlowConfig",
    "FlowMethod",
    "FrameVerdict",
    "GeometricBackend",
    "GeometricConfig",
    "QueryConfig",
    "StreamHealth",
    "StreamingConfig",
    "StreamingTracker",
    "TrackerBackend",
    "track_clip",
]
