"""St4RTrack network throughput: the official configuration on CPU (and CUDA when present),
and the small configuration used by tests. Weights are random: speed does not depend on them."""

from __future__ import annotations

import logging
import math
import time

import torch

from s4_core.bench.harness import BenchContext, BenchRow
from s4_core.st4rtrack import St4RTrackConfig, St4RTrackNet

log = logging.getLogger(__name__)


def run(ctx: BenchContext) -> list[BenchRow]:
    """Rows: official 512x288 frames/s on CPU, small-config frames/s on CPU, official on CUDA."""
    official = St4RTrackConfig.official()
    small = St4RTrackConfig.small()
    rows = [
        _throughput_row("st4rtrack official forward (CPU)", official, "cpu", pairs=1 if ctx.quick else 2, seed=ctx.seed),
        _throughput_row("st4rtrack small forward (CPU)", small, "cpu", pairs=4 if ctx.quick else 16, seed=ctx.seed),
    ]
    if torch.cuda.is_available():
        rows.append(_throughput_row("st4rtrack official forward (CUDA)", official, "cuda", pairs=4 if ctx.quick else 16, seed=ctx.seed))
    else:
        rows.append(BenchRow("st4rtrack official forward (CUDA)", math.nan, "frames/s", "no GPU"))
    return rows


def _throughput_row(name: str, config: St4RTrackConfig, device: str, pairs: int, seed: int) -> BenchRow:
    """Window frames per second: one forward over ``pairs`` (anchor, frame) pairs, after a warm-up."""
    torch.manual_seed(seed)
    model = St4RTrackNet(config).to(device).eval()
    width, height = config.input_size_wh
    frames = torch.rand(pairs, 3, height, width, device=device) * 2 - 1
    with torch.inference_mode():
        model(frames[:1], frames[:1])  # warm-up: kernel selection, allocator
        _synchronize(device)
        start = time.perf_counter()
        model(frames[:1], frames)
        _synchronize(device)
        elapsed = time.perf_counter() - start
    scene = f"{pairs} pairs {width}x{height}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params, {torch.get_num_threads()} threads"
    log.info("%s: %.3f s for %s", name, elapsed, scene)
    return BenchRow(name, pairs / elapsed, "frames/s", scene)


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
