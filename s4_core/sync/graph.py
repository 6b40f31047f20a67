"""Global offsets from pair offsets: robust weighted least squares on the camera-pair graph.

Each usable pair gives ``o_b - o_a = d_ab +- sigma_ab``. With the reference camera fixed at 0,
the offsets are the Cauchy-weighted least-squares solution (IRLS), started from a robust
initialization (the median over the direct and two-hop paths from the reference, so one wrong
pair cannot drag the start). Pairs whose normalized residual stays beyond ``gate_sigma`` are
rejected -- they contradict the cycles they belong to -- and cameras no longer connected to the
reference are reported unresolved instead of receiving a number.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from s4_core.sync.pair import PairOffset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphSolveConfig:
    """Hyperparameters of :func:`solve_offsets_on_pair_graph`.

    Attributes:
        cauchy_scale: Cauchy loss scale, in normalized residuals (sigmas).
        gate_sigma: pairs beyond this many (floored) sigmas after the robust solve are rejected.
        stddev_floor_s: added in quadrature to every pair's stddev: the unmodelled error
            (interpolation, drift within a window) that pair stddevs do not include.
        iterations: IRLS iterations.
    """

    cauchy_scale: float = 2.0
    gate_sigma: float = 4.0
    stddev_floor_s: float = 5e-5
    iterations: int = 20


@dataclass(frozen=True)
class GraphOffset:
    """One camera's offset relative to the reference, at the reference's window time.

    Attributes:
        camera: camera name.
        offset_s: offset, seconds (NaN when unresolved).
        stddev_s: its standard deviation (inf when unresolved).
        resolved: connected to the reference by accepted pairs.
        reason: why not resolved.
        num_pairs: accepted pairs touching this camera.
    """

    camera: str
    offset_s: float
    stddev_s: float
    resolved: bool
    reason: str = ""
    num_pairs: int = 0


def solve_offsets_on_pair_graph(
    cameras: Sequence[str], reference: str, pairs: Sequence[PairOffset], config: GraphSolveConfig = GraphSolveConfig()
) -> dict[str, GraphOffset]:
    """Per-camera offsets consistent over the pair graph, with marginal stddevs.

    Args:
        cameras: all camera names.
        reference: the camera whose offset is 0 by definition.
        pairs: pair measurements; those not ``ok`` are ignored.
        config: hyperparameters.

    Returns:
        camera name -> GraphOffset (the reference is resolved with offset 0, stddev 0).
    """
    if reference not in cameras:
        raise ValueError(f"reference {reference!r} is not among {list(cameras)}")
    index = {c: i for i, c in enumerate(cameras)}
    usable = [p for p in pairs if p.ok and p.cam_a in index and p.cam_b in index and p.cam_a != p.cam_b]
    ia = np.array([index[p.cam_a] for p in usable], dtype=np.int64)
    ib = np.array([index[p.cam_b] for p in usable], dtype=np.int64)
    d = np.array([p.offset_s for p in usable])
    sigma = np.sqrt(np.array([p.stddev_s for p in usable]) ** 2 + config.stddev_floor_s**2)
    accepted = np.ones(len(usable), bool)
    x, cov = np.zeros(len(cameras)), np.full(len(cameras), np.inf)
    for _ in range(2):  # solve, gate, solve again on the accepted pairs
        x = _robust_start(len(cameras), index[reference], ia[accepted], ib[accepted], d[accepted])
        x, cov = _irls(x, index[reference], ia[accepted], ib[accepted], d[accepted], sigma[accepted], config)
        z = np.abs(x[ib] - x[ia] - d) / sigma
        solved = _connected_to(index[reference], len(cameras), ia[accepted], ib[accepted])  # others have no x to test
        newly = accepted & solved[ia] & solved[ib] & (z > config.gate_sigma)
        if not newly.any():
            break
        for k in np.flatnonzero(newly):
            log.info("rejecting pair %s-%s: %.1f sigma from the graph solution", usable[k].cam_a, usable[k].cam_b, z[k])
        accepted &= ~newly
    rejected = [p for p, ok in zip(usable, accepted) if not ok]
    return _graph_offsets(cameras, index[reference], ia[accepted], ib[accepted], x, cov, pairs, rejected)


def _robust_start(n: int, ref: int, ia: np.ndarray, ib: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Offsets from the median over the direct and two-hop paths from the reference."""
    edge: dict[tuple[int, int], list[float]] = {}
    for a, b, v in zip(ia, ib, d):
        edge.setdefault((a, b), []).append(v)
        edge.setdefault((b, a), []).append(-v)
    direct = {k: float(np.median(v)) for k, v in edge.items()}
    x = np.zeros(n)
    for c in range(n):
        paths = [direct[(ref, c)]] if (ref, c) in direct else []
        paths += [direct[(ref, m)] + direct[(m, c)] for m in range(n) if (ref, m) in direct and (m, c) in direct and m != c]
        x[c] = float(np.median(paths)) if paths and c != ref else 0.0
    return x


def _irls(x, ref, ia, ib, d, sigma, config: GraphSolveConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cauchy IRLS with the reference fixed; returns offsets [C] and marginal variances [C]."""
    n = len(x)
    # Only cameras connected to the reference have determined offsets; a group of cameras
    # timed only against each other would make the normal equations singular.
    connected = _connected_to(ref, n, ia, ib)
    linked = connected[ia] & connected[ib]
    ia, ib, d, sigma = ia[linked], ib[linked], d[linked], sigma[linked]
    free = np.array([c for c in range(n) if c != ref and connected[c]], dtype=np.int64)
    A = np.zeros((len(d), n))
    A[np.arange(len(d)), ib] += 1.0
    A[np.arange(len(d)), ia] -= 1.0
    A = A[:, free]
    var = np.full(n, np.inf)
    var[ref] = 0.0
    if len(d) == 0:
        return x, var
    for _ in range(config.iterations):
        z = (A @ x[free] - d) / sigma
        w = 1.0 / (sigma**2 * (1.0 + (z / config.cauchy_scale) ** 2))
        N = A.T @ (w[:, None] * A)
        observed = np.diag(N) > 0
        if not observed.any():
            break
        sub = np.ix_(observed, observed)
        x[free[observed]] = np.linalg.solve(N[sub], (A.T @ (w * d))[observed])
    # Covariance from the plain (unit-weight) normal equations on the final inliers: Cauchy
    # weights only serve the fit, they would shrink the variance of the pairs they trust.
    N = A.T @ (A / sigma[:, None] ** 2)
    observed = np.diag(N) > 0
    if observed.any():
        cov = np.linalg.pinv(N[np.ix_(observed, observed)])
        var[free[observed]] = np.diag(cov)
    return x, var


def _graph_offsets(cameras, ref, ia, ib, x, var, pairs, rejected) -> dict[str, GraphOffset]:
    connected = _connected_to(ref, len(cameras), ia, ib)
    degree = np.bincount(np.concatenate([ia, ib]), minlength=len(cameras)) if len(ia) else np.zeros(len(cameras), int)
    out = {}
    for c, name in enumerate(cameras):
        if connected[c] and np.isfinite(var[c]):
            out[name] = GraphOffset(name, float(x[c]), float(np.sqrt(var[c])), True, "", int(degree[c]))
        else:
            out[name] = GraphOffset(name, float("nan"), float("inf"), False, _unresolved_reason(name, cameras[ref], pairs, rejected))
    return out


def _connected_to(ref: int, n: int, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    seen = np.zeros(n, bool)
    seen[ref] = True
    changed = True
    while changed:
        changed = False
        for a, b in zip(ia, ib):
            if seen[a] != seen[b]:
                seen[a] = seen[b] = True
                changed = True
    return seen


def _unresolved_reason(camera: str, reference: str, pairs: Sequence[PairOffset], rejected: Sequence[PairOffset]) -> str:
    """Why a camera has no offset: its pairs failed, contradicted the graph, or only link it to
    cameras that are themselves not linked to the reference."""
    mine = [p for p in pairs if camera in (p.cam_a, p.cam_b)]
    failed = sorted({p.reason for p in mine if not p.ok})
    if not mine:
        return "no camera pair evidence"
    if failed and all(not p.ok for p in mine):
        return "no usable pair: " + "; ".join(failed)
    if any(camera in (p.cam_a, p.cam_b) for p in rejected):
        return "its pairs are inconsistent with the camera graph"
    return f"its usable pairs do not link it to the reference {reference}"
