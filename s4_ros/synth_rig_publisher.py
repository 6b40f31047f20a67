"""A synthetic rig as camera drivers would publish it (s4_core.synth), for tests, benches and demos.

Each camera publishes image + camera_info + aligned depth with identical stamps in its own
clock, in stamp order at real-time pace; the recording loops with stamps shifted by its
length (every camera's motion repeats at the same capture times, so the true offsets hold
across loops). Up to four cameras, each published in its own style (:data:`CAMERA_STYLE`), so
raw and JPEG images and both depth encodings are exercised.

Run ``python -m s4_ros.synth_rig_publisher --synth '{"num_cameras": 4}' --run-s 60``. Options:

- ``--publish-log PATH`` writes one line ``camera stamp_ns monotonic_ns`` per published frame
  (flushed at once), so another process can time what happened to each frame
  (``CLOCK_MONOTONIC`` is shared by all processes of a machine);
- faults for robustness tests: ``--stop-camera NAME --stop-after-s T`` silences a camera after
  T seconds; ``--malformed-every N`` replaces every N-th cam0 image by one with too few bytes.

It prints ``publishing N frames per loop`` once the frames are rendered and the first is sent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import TextIO

import rclpy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from s4_core.imaging import from_depth_m
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_ros.camera_info import camera_info_msg
from s4_ros.image_messages import compressed_image_msg, image_msg
from s4_ros.qos import sensor_qos

#: How each synthetic camera publishes: image kind, depth encoding.
CAMERA_STYLE = {"cam0": ("raw", "32FC1"), "cam1": ("jpeg", "16UC1"), "cam2": ("raw", "16UC1"), "cam3": ("jpeg", "32FC1")}


def topics(camera: str) -> dict[str, str]:
    """The driver topics of a camera (a rig file for this publisher points at these)."""
    image = f"/{camera}/image_raw" + ("/compressed" if CAMERA_STYLE[camera][0] == "jpeg" else "")
    return {"image_topic": image, "info_topic": f"/{camera}/camera_info", "depth_topic": f"/{camera}/depth"}


def synth_config(overrides: dict) -> SynthConfig:
    """The tiny rig of the tests (two cameras, 160x120, known offsets, no drift) with
    ``overrides`` (JSON lists become the config's tuples)."""
    base = dict(num_cameras=2, duration_s=2.5, size_wh=(160, 120), offsets_s=(0.0, 0.137), drift_ppm=(0.0, 0.0))
    merged = {**base, **overrides}
    return SynthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in merged.items()})


def header(stamp_ns: int, frame_id: str) -> Header:
    h = Header(frame_id=frame_id)
    h.stamp.sec, h.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return h


def prepared_messages(world: SyntheticWorld) -> list[tuple[int, str, list]]:
    """(stamp_ns, camera, [(kind, message)]) for every frame of every camera, in stamp order."""
    out = []
    for i, camera in enumerate(world.cameras):
        style, depth_encoding = CAMERA_STYLE[camera.name]
        for frame in world.frames(i):
            # one header object per message: they are restamped in place
            image_h, info_h, depth_h = (header(frame.stamp_ns, f"{camera.name}_optical") for _ in range(3))
            if style == "raw":
                image = image_msg(frame.rgb, "rgb8", image_h)
            else:
                image = compressed_image_msg(frame.rgb, "rgb8", image_h, "jpeg")
            depth = image_msg(from_depth_m(frame.depth_m, depth_encoding), depth_encoding, depth_h)
            parts = [("image", image), ("info", camera_info_msg(camera, info_h)), ("depth", depth)]
            out.append((frame.stamp_ns, camera.name, parts))
    return sorted(out, key=lambda item: item[0])


def restamped(msg, shift_ns: int):
    """The message with its header stamp moved by ``shift_ns`` (in place; messages are reused)."""
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec + shift_ns
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
    return msg


def malformed(image: Image) -> Image:
    """An Image whose data is shorter than step * height."""
    return Image(header=image.header, height=image.height, width=image.width, encoding=image.encoding,
                 step=image.step, data=bytes(image.data)[: len(image.data) // 2])  # fmt: skip


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", default="{}", help="JSON overrides of the SynthConfig")
    parser.add_argument("--run-s", type=float, default=30.0)
    parser.add_argument("--publish-log", default="", help="file of 'camera stamp_ns monotonic_ns' per frame")
    parser.add_argument("--stop-camera", default="")
    parser.add_argument("--stop-after-s", type=float, default=1e9)
    parser.add_argument("--malformed-every", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    world = SyntheticWorld(synth_config(json.loads(args.synth)))
    messages = prepared_messages(world)
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)  # SIGTERM simply ends this peer
    node = rclpy.create_node("s4_synth_rig_publisher")
    qos = sensor_qos("reliable", 5)
    publishers = {}
    for camera in world.cameras:
        t = topics(camera.name)
        publishers[camera.name] = {
            "image": node.create_publisher(_image_type(camera.name), t["image_topic"], qos),
            "info": node.create_publisher(CameraInfo, t["info_topic"], qos),
            "depth": node.create_publisher(Image, t["depth_topic"], qos),
        }
    print(f"publishing {len(messages)} frames per loop", flush=True)
    with open(args.publish_log, "w") if args.publish_log else contextlib.nullcontext() as log:
        _stream(args, messages, int(world.config.duration_s * 1e9), publishers, log)
    node.destroy_node()
    rclpy.shutdown()


def _stream(args: argparse.Namespace, messages: list, period_ns: int, publishers: dict, log: TextIO | None) -> None:
    """Publish the looped recording at real-time pace for ``args.run_s`` seconds."""
    start = time.monotonic()
    first_ns = messages[0][0]
    sent = 0
    loop = 0
    while time.monotonic() - start < args.run_s:
        for stamp_ns, camera, parts in messages:
            due = start + (stamp_ns - first_ns + loop * period_ns) / 1e9
            time.sleep(max(0.0, due - time.monotonic()))
            elapsed = time.monotonic() - start
            if elapsed > args.run_s:
                break
            if camera == args.stop_camera and elapsed > args.stop_after_s:
                continue
            sent += 1
            for kind, msg in parts:
                if kind == "image" and args.malformed_every and camera == "cam0" and sent % args.malformed_every == 0:
                    msg = malformed(msg)
                publishers[camera][kind].publish(msg)
            if log is not None:
                log.write(f"{camera} {stamp_ns + loop * period_ns} {time.monotonic_ns()}\n")
                log.flush()
        loop += 1
        for _, _, parts in messages:
            for _, msg in parts:
                restamped(msg, period_ns)


def _image_type(camera: str) -> type:
    return Image if CAMERA_STYLE[camera][0] == "raw" else CompressedImage


if __name__ == "__main__":
    main()
