"""Depth frames prepared for point checks, kept from one window estimate to the next.

A depth-consistency check projects another camera's points into about 80 of a camera's
frames per estimate and reads, at each point's pixel, the depth there and the nearest valid
depth around it (:func:`near_surface`). Successive estimates share most of their frames (an
8-s window re-estimated every 4 s shares half), and building the frames anew for every
estimate cost ~80 ms per camera, much of it page faults of a fresh ~50 MB array, while a
live node's tracking waited for the core. So the prepared frames live in one table per
camera, named by the frames' serial numbers, and an estimate prepares only the frames it has
not seen. For that, successive estimates must choose the same frames: they lie on a grid of
serial numbers that stays put while the window slides (:meth:`NearSurfaceTable.prepare`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np

_NEIGHBOURHOOD = np.ones((3, 3), np.uint8)


def near_surface(depth_m: np.ndarray, out: np.ndarray) -> None:
    """Write the depth [h, w] (NaN invalid) and the smallest valid depth of each pixel's 3x3
    neighbourhood (inf where none) side by side into ``out`` [h, w, 2] (float32 or float16).

    A projected point's pixel is uncertain by about one pixel, which at a silhouette decides
    between object and background; the nearest depth around the pixel says whether a point
    lies in front of every surface seen there. Both sit side by side so that one gather
    fetches them.
    """
    depth_m = np.asarray(depth_m, np.float32)
    valid = cv2.patchNaNs(depth_m.copy(), np.inf)
    nearest = cv2.erode(valid, _NEIGHBOURHOOD, borderType=cv2.BORDER_CONSTANT, borderValue=np.inf)
    np.copyto(out, cv2.merge([depth_m, nearest]), casting="same_kind")


class NearSurfaceTable:
    """One camera's prepared frames (see :func:`near_surface`), in a table of fixed size.

    The table holds depths in half precision: its 11-bit significand rounds a depth by at most
    1 mm below 4 m and 4 mm below 16 m, a fraction of the depth residual scale the checks use
    (2 cm), and a table for 80 frames of 320x240 (room for 89) takes 27 MB instead of 55 MB
    for as long as the camera streams.

    An estimate leases the table (:meth:`lease`) for as long as it reads it: preparing frames
    overwrites the slots of frames that left the selection, which an estimate still reading
    them must not see. One estimate runs at a time in s4's pipeline and sync node; should a
    second overlap, its lease fails and it prepares its frames in a private table instead.
    """

    def __init__(self) -> None:
        self._leased = threading.Lock()
        self._table: np.ndarray | None = None
        self._slot_of: dict[int, int] = {}
        self._stride_frames = 1.0

    def lease(self) -> bool:
        """Take the table, True, or False when another estimate holds it."""
        return self._leased.acquire(blocking=False)

    def release(self) -> None:
        """Give the table back (any thread may, once its leaseholder is done reading)."""
        self._leased.release()

    def prepare(self, first_serial: int, num_frames: int, depth_of: Callable[[int], np.ndarray],
                shape_hw: tuple[int, int], max_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """About ``max_frames`` of a window's ``num_frames`` frames, spread over it, prepared.

        Returns the chosen frames' indices in the window [I], the table [capacity, h, w, 2]
        and each chosen frame's slot in it [I]. ``depth_of(i)`` is the depth of window frame
        ``i``, whose serial number is ``first_serial + i``. Frames of the table that are not
        chosen are forgotten. Only a leaseholder, or the only user of a private table, may call it.
        """
        index = self._choose(first_serial, num_frames, max_frames)
        shape = (_capacity(max_frames), *shape_hw, 2)
        if self._table is None or self._table.shape != shape:
            self._table, self._slot_of = np.empty(shape, np.float16), {}
        serials = (first_serial + index).tolist()
        chosen = set(serials)
        self._slot_of = {s: slot for s, slot in self._slot_of.items() if s in chosen}
        free = sorted(set(range(shape[0])) - set(self._slot_of.values()), reverse=True)
        for i, serial in zip(index.tolist(), serials):
            if serial not in self._slot_of:
                self._slot_of[serial] = slot = free.pop()
                near_surface(depth_of(i), self._table[slot])
        return index, self._table, np.array([self._slot_of[s] for s in serials], np.int64)

    def _choose(self, first_serial: int, num_frames: int, max_frames: int) -> np.ndarray:
        """Indices of the window frames on the grid: serial s is chosen when s / stride passes
        an integer (so a stride of 2.5 takes every second and third frame in turn).

        The stride is kept while the frames it chooses number at most ``_STRIDE_SLACK`` times
        ``max_frames`` and at least ``max_frames / _STRIDE_SLACK`` (or all frames): a window
        that gains or loses a frame as it slides must not move the grid. Otherwise it is chosen
        anew for ``max_frames`` frames (a window filling up moves it about every tenth of its
        growth)."""
        serials = first_serial + np.arange(num_frames)

        def on_grid(stride: float) -> np.ndarray:
            return np.flatnonzero(np.floor(serials / stride) > np.floor((serials - 1) / stride))

        index = on_grid(self._stride_frames)
        too_few = self._stride_frames > 1 and len(index) * _STRIDE_SLACK < max_frames
        if len(index) > _capacity(max_frames) or too_few:
            self._stride_frames = max(1.0, num_frames / max_frames)
            index = on_grid(self._stride_frames)
        return index


#: How far the count of frames chosen may stray from the one asked for before the grid is moved.
_STRIDE_SLACK = 1.1


def _capacity(max_frames: int) -> int:
    """Most frames the grid may choose for ``max_frames`` asked for."""
    return int(np.floor(max_frames * _STRIDE_SLACK)) + 1
