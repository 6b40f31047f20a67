"""Band-limited procedural solid textures, evaluated in a body's rest coordinates.

A texture is a function of the rest-shape point, so it moves and deforms with the body and a
surface point keeps its colour over time: what optical flow and feature matching rely on. It is
a sum of sinusoidal gratings in random 3D directions whose shortest wavelength is chosen so the
pattern stays above a few pixels at the rig's viewing distances (no aliasing at 320x240), then
pushed through a soft contrast curve so it has blobs and edges for feature detectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Number of gratings in each pattern; enough for a noise-like, non-periodic look.
NUM_GRATINGS = 10

#: Steepness of the contrast curve applied to the normalized grating sum.
CONTRAST_GAIN = 2.0


@dataclass(frozen=True)
class GratingPattern:
    """Scalar pattern in [0, 1]: ``0.5 + 0.5 tanh(gain * sum_k w_k sin(2 pi f_k . x + phi_k))``.

    Attributes:
        spatial_freqs: [K, 3] spatial frequency vectors, cycles per metre.
        phases: [K] radians.
        weights: [K] normalized so the sum has unit standard deviation.
    """

    spatial_freqs: np.ndarray
    phases: np.ndarray
    weights: np.ndarray

    @staticmethod
    def random(rng: np.random.Generator, wavelength_range_m: tuple[float, float]) -> "GratingPattern":
        """Gratings with wavelengths log-uniform in the range and isotropic directions."""
        directions = rng.normal(size=(NUM_GRATINGS, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        low, high = np.log(wavelength_range_m)
        wavelengths = np.exp(rng.uniform(low, high, NUM_GRATINGS))
        weights = rng.uniform(0.5, 1.0, NUM_GRATINGS)
        return GratingPattern(
            spatial_freqs=directions / wavelengths[:, None],
            phases=rng.uniform(0.0, 2.0 * np.pi, NUM_GRATINGS),
            # a sinusoid with random phase has variance 1/2 -> unit-variance sum
            weights=weights / np.sqrt(0.5 * np.sum(weights**2)),
        )

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        """Pattern values [P] in [0, 1] at points [P, 3] (float32: colour needs no more)."""
        freqs = (2.0 * np.pi * self.spatial_freqs.T).astype(np.float32)
        angles = xyz.astype(np.float32) @ freqs + self.phases.astype(np.float32)
        total = np.sin(angles) @ self.weights.astype(np.float32)
        return 0.5 + 0.5 * np.tanh(np.float32(CONTRAST_GAIN) * total)


@dataclass(frozen=True)
class SolidTexture:
    """Two-colour albedo: a coarse pattern mixes the colours, a fine one modulates brightness.

    Attributes:
        base_rgb: [3] albedo where the coarse pattern is 0, in [0, 1].
        accent_rgb: [3] albedo where the coarse pattern is 1, in [0, 1].
        coarse: pattern choosing between the colours.
        fine: pattern modulating brightness between 55 % and 100 %.
    """

    base_rgb: np.ndarray
    accent_rgb: np.ndarray
    coarse: GratingPattern
    fine: GratingPattern

    @staticmethod
    def random(rng: np.random.Generator, min_wavelength_m: float) -> "SolidTexture":
        """A random two-colour texture whose finest detail is ``min_wavelength_m``."""
        base = rng.uniform(0.15, 0.9, 3)
        accent = np.clip(1.05 - base + rng.uniform(-0.15, 0.15, 3), 0.05, 0.95)
        return SolidTexture(
            base_rgb=base,
            accent_rgb=accent,
            coarse=GratingPattern.random(rng, (3.0 * min_wavelength_m, 8.0 * min_wavelength_m)),
            fine=GratingPattern.random(rng, (min_wavelength_m, 3.0 * min_wavelength_m)),
        )

    def albedo(self, xyz: np.ndarray) -> np.ndarray:
        """Albedo [P, 3] in [0, 1] at rest-shape points [P, 3]."""
        mix = self.coarse(xyz)[:, None]
        colour = self.base_rgb + (self.accent_rgb - self.base_rgb) * mix
        return colour * (0.55 + 0.45 * self.fine(xyz))[:, None]
