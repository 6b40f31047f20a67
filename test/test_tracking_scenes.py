"""Tiny analytic scenes with known tracks for the tracking tests (and checks of the scenes).

The texture is a sum of sinusoids, so a frame shifted by a sub-pixel amount is rendered
exactly rather than interpolated: the ground truth of a translation is known to the bit.
"""

from __future__ import annotations

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.frames import Frame

FOCAL_PX = 100.0
SIZE_WH = (96, 72)
FRAME_DT_NS = 33_333_333


def pinhole(world_from_camera: np.ndarray | None = None, size_wh: tuple[int, int] = SIZE_WH) -> PinholeCamera:
    w, h = size_wh
    K = np.array([[FOCAL_PX, 0.0, (w - 1) / 2], [0.0, FOCAL_PX, (h - 1) / 2], [0.0, 0.0, 1.0]])
    return PinholeCamera("cam", w, h, K, np.eye(4) if world_from_camera is None else world_from_camera)


def texture(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth colour texture [..., 3] in [20, 235] at continuous positions."""
    rng = np.random.default_rng(seed)
    out = np.zeros(u.shape + (3,))
    power = np.zeros(3)
    for _ in range(8):
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.25, 0.7), rng.uniform(0, 2 * np.pi)
        amplitude = rng.uniform(0.2, 1.0, size=3)
        out += np.sin(freq * (np.cos(angle) * u + np.sin(angle) * v) + phase)[..., None] * amplitude
        power += 0.5 * amplitude**2
    return 127.5 + 107.5 * np.tanh(out / np.sqrt(power))


def pixel_grid(size_wh: tuple[int, int] = SIZE_WH) -> tuple[np.ndarray, np.ndarray]:
    w, h = size_wh
    return np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))


def translated_frame(
    index: int,
    shift_px: tuple[float, float],
    depth_m: float | None = 2.0,
    model: PinholeCamera | None = None,
    seed: int = 0,
    size_wh: tuple[int, int] = SIZE_WH,
) -> Frame:
    """Frame ``index`` of a texture moving by ``shift_px`` per frame on a fronto-parallel plane."""
    u, v = pixel_grid(size_wh)
    rgb = texture(u - index * shift_px[0], v - index * shift_px[1], seed)
    depth = None if depth_m is None else np.full(u.shape, depth_m, np.float32)
    return Frame("cam", 1_000_000_000 + index * FRAME_DT_NS, np.round(rgb).astype(np.uint8), depth, model)


def translation_clip(num_frames: int, shift_px: tuple[float, float], with_depth: bool = True, **kwargs) -> list[Frame]:
    model = kwargs.pop("model", pinhole())
    return [
        translated_frame(i, shift_px, 2.0 if with_depth else None, model, **kwargs) for i in range(num_frames)
    ]


OCCLUDER_SIDE_PX = 24
OCCLUDER_ROW_PX = 20


def occluder_left_px(index: int) -> float:
    """Left edge of the square occluder in frame ``index`` (moves 2 px per frame)."""
    return -OCCLUDER_SIDE_PX + 4.0 + 2.0 * index


def occluded(u: np.ndarray, v: np.ndarray, index: int, margin_px: float = 0.0) -> np.ndarray:
    """Whether static background pixels (u, v) are behind the occluder in frame ``index``."""
    left = occluder_left_px(index)
    return (
        (u >= left - margin_px)
        & (u <= left + OCCLUDER_SIDE_PX + margin_px)
        & (v >= OCCLUDER_ROW_PX - margin_px)
        & (v <= OCCLUDER_ROW_PX + OCCLUDER_SIDE_PX + margin_px)
    )


def occluder_frame(index: int, with_depth: bool = True) -> Frame:
    """Static background at 2 m; a differently textured square at 1 m slides over it."""
    u, v = pixel_grid()
    rgb = texture(u, v, seed=1)
    depth = np.full(u.shape, 2.0, np.float32)
    cover = occluded(u, v, index)
    left = occluder_left_px(index)
    rgb[cover] = texture(u - left, v, seed=2)[cover]
    depth[cover] = 1.0
    return Frame(
        "cam", 1_000_000_000 + index * FRAME_DT_NS, np.round(rgb).astype(np.uint8), depth if with_depth else None, pinhole()
    )


def test_translated_frames_shift_the_texture_exactly() -> None:
    a, b = translated_frame(0, (3.0, 2.0)), translated_frame(1, (3.0, 2.0))
    assert np.array_equal(a.rgb[:-2, :-3], b.rgb[2:, 3:])
    assert not np.array_equal(a.rgb, b.rgb)


def test_occluder_covers_the_predicted_pixels() -> None:
    u, v = pixel_grid()
    frame = occluder_frame(10)
    assert np.all(frame.depth_m[occluded(u, v, 10)] == 1.0)
    assert np.all(frame.depth_m[~occluded(u, v, 10)] == 2.0)
