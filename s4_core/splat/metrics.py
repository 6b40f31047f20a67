"""Image quality scores for novel-view evaluation (PSNR, SSIM), NumPy/OpenCV only.

Both take an optional pixel mask, so a held-out view can be scored on the pixels the training
cameras saw (DyCheck's co-visibility masked mPSNR / mSSIM): a pixel no training camera ever saw
cannot be predicted by any reconstruction and only measures the rig's coverage.
"""

from __future__ import annotations

import cv2
import numpy as np


def psnr_db(image: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB of images [H, W, C] in [0, 1], over ``mask`` [H, W] if given."""
    squared = (np.asarray(image, np.float64) - np.asarray(reference, np.float64)) ** 2
    mse = float(np.mean(squared if mask is None else squared[np.asarray(mask, bool)]))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(image: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), channel mean,
    averaged over ``mask`` [H, W] if given (windows still see unmasked neighbours, as in DyCheck)."""
    c1, c2 = 0.01**2, 0.03**2
    x, y = np.asarray(image, np.float64), np.asarray(reference, np.float64)

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim_map.mean() if mask is None else ssim_map[np.asarray(mask, bool)].mean())
