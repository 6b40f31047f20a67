"""The one interface every tracking backend offers to the streaming tracker.

Both the geometric backend (flow + depth) and the St4RTrack network implement it, so the
streaming tracker, the stitching of tracks across anchors and the descriptors are written once.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from s4_core.frames import Frame
from s4_core.tracks import TrackSet


@runtime_checkable
class TrackerBackend(Protocol):
    """Tracks points of an anchor frame through the frames that follow it.

    Contract: ``frames[0]`` is the anchor; the result has one row per frame, row 0 holds the
    query positions exactly; track ``i`` of the result is query ``i`` (so ``track_ids`` may be
    local, ``arange(N)``); the result is deterministic given the frames and the queries, which
    lets a backend memoize work when it is called again with the same anchor and one more
    frame. One backend instance serves one camera stream.
    """

    def track_window(self, frames: Sequence[Frame], query_uv: np.ndarray | None = None) -> TrackSet:
        """Tracks of the anchor's query points over ``frames``.

        Args:
            frames: anchor first, stamps strictly increasing, one camera, one image size.
            query_uv: positions [N, 2] in the anchor to track; None lets the backend choose.
        """
        ...

    def reset(self) -> None:
        """Forget all memoized work (e.g. after the stream restarted)."""
        ...
