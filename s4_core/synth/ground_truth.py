"""The ground-truth JSON written next to a synthetic bag (``<OUT>.gt.json``).

It records what an estimator should recover (each camera's clock offset and drift in the
convention of :mod:`s4_core.clock`), the calibration, how many frames were recorded and
dropped, and the config and seed the recording can be regenerated from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import ClockModel
from s4_core.synth.config import SynthConfig
from s4_core.synth.ros_messages import optical_frame
from s4_core.synth.world import SyntheticWorld

FORMAT_NAME = "s4-synth-ground-truth"
FORMAT_VERSION = 1

CLOCK_CONVENTION = "capture_s = stamp_s - offset_s - drift_ppm * 1e-6 * (stamp_s - t0_s)"


@dataclass(frozen=True)
class RecordingGroundTruth:
    """A ground-truth JSON read back.

    Attributes:
        reference_camera: name of the camera whose clock is the reference.
        t0_s: start of the recording (reference time) and every clock's ``t0_s``.
        cameras: calibrated camera models by name, in recording order.
        clocks: true clocks by camera name.
        fps: frame rate by camera name.
        num_frames: recorded frames by camera name.
        num_dropped: dropped frames by camera name.
        config: the config that regenerates the recording.
    """

    reference_camera: str
    t0_s: float
    cameras: dict[str, PinholeCamera]
    clocks: dict[str, ClockModel]
    fps: dict[str, float]
    num_frames: dict[str, int]
    num_dropped: dict[str, int]
    config: SynthConfig


def ground_truth_path(out: Path) -> Path:
    """Where the ground truth of the bag at ``out`` lives: ``out/scene -> out/scene.gt.json``."""
    out = Path(out)
    return out.with_name(out.name + ".gt.json")


def ground_truth_dict(world: SyntheticWorld, storage: str) -> dict:
    """JSON-ready ground truth of a world recorded with the given bag storage."""
    cameras = {}
    for i, (camera, fps) in enumerate(zip(world.cameras, world.config.resolved_fps())):
        clock = world.clocks[camera.name]
        times = world.frame_times(i)
        cameras[camera.name] = {
            "offset_s": clock.offset_s,
            "drift_ppm": clock.drift_ppm,
            "fps": fps,
            "width": camera.width,
            "height": camera.height,
            "K": np.asarray(camera.K).tolist(),
            "world_from_camera": np.asarray(camera.world_from_camera).tolist(),
            "frame_id": optical_frame(camera.name),
            "num_frames": int(len(times.stamp_ns)),
            "num_dropped": int(times.num_dropped),
            "exposure_gain": world.responses[i].gain,
            "white_balance": world.responses[i].white_balance.tolist(),
        }
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "clock_convention": CLOCK_CONVENTION,
        "reference_camera": world.reference_camera,
        "t0_s": world.t0_s,
        "duration_s": world.config.duration_s,
        "storage": storage,
        "seed": world.config.seed,
        "config": asdict(world.config),
        "objects": [{"id": body.object_id, "name": body.name} for body in world.scene.bodies],
        "cameras": cameras,
    }


def write_ground_truth(world: SyntheticWorld, storage: str, path: Path) -> None:
    """Write :func:`ground_truth_dict` as indented JSON."""
    Path(path).write_text(json.dumps(ground_truth_dict(world, storage), indent=2) + "\n")


def load_ground_truth(path: Path) -> RecordingGroundTruth:
    """Read a ground-truth JSON written by :func:`write_ground_truth`."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not an s4 synthetic ground-truth file")
    t0_s = float(data["t0_s"])
    entries = data["cameras"]
    config_fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data["config"].items()}
    return RecordingGroundTruth(
        reference_camera=data["reference_camera"],
        t0_s=t0_s,
        cameras={
            name: PinholeCamera(
                name, e["width"], e["height"], np.array(e["K"], dtype=np.float64), np.array(e["world_from_camera"])
            )
            for name, e in entries.items()
        },
        clocks={name: ClockModel(e["offset_s"], e["drift_ppm"], t0_s) for name, e in entries.items()},
        fps={name: float(e["fps"]) for name, e in entries.items()},
        num_frames={name: int(e["num_frames"]) for name, e in entries.items()},
        num_dropped={name: int(e["num_dropped"]) for name, e in entries.items()},
        config=SynthConfig(**config_fields),
    )

