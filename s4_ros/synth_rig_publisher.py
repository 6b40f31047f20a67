"""A synthetic rig as camera drivers would publish it (s4_core.synth), for tests, benches and demos.

Each camera publishes image + camera_info + aligned depth with identical stamps in its own
clock, in stamp order at real-time pace; each camera's recording loops with stamps shifted by
the recording's length (every camera's motion repeats at the same capture times, so the true
offsets hold across loops), and each camera loops on its own, so it keeps its steady rate
across the seam (:func:`paced_schedule`). Up to four cameras, each published in its own style
(:data:`CAMERA_STYLE`), so raw and JPEG images and both depth encodings are exercised.

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
import heapq
import json
import time
from collections.abc import Iterator
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


def prepared_messages(world: SyntheticWorld) -> dict[str, list[tuple[int, list]]]:
    """Camera -> (stamp_ns, [(kind, message)]) of each of its frames, in stamp order."""
    out = {}
    for i, camera in enumerate(world.cameras):
        style, depth_encoding = CAMERA_STYLE[camera.name]
        out[camera.name] = []
        for frame in world.frames(i):
            # one header object per message: they are restamped in place
            image_h, info_h, depth_h = (header(frame.stamp_ns, f"{camera.name}_optical") for _ in range(3))
            if style == "raw":
                image = image_msg(frame.rgb, "rgb8", image_h)
            else:
                image = compressed_image_msg(frame.rgb, "rgb8", image_h, "jpeg")
            depth = image_msg(from_depth_m(frame.depth_m, depth_encoding), depth_encoding, depth_h)
            parts = [("image", image), ("info", camera_info_msg(camera, info_h)), ("depth", depth)]
            out[camera.name].append((frame.stamp_ns, parts))
    return out


def paced_schedule(stamps_ns: dict[str, list[int]], period_ns: int) -> Iterator[tuple[int, str, int, int]]:
    """(due_ns, camera, frame index, loop) of every frame of the looped recording, endlessly,
    in due order; a frame of loop k is due at its stamp plus k periods.

    Each camera loops on its own. Looping the cameras' merged stream instead made every camera
    wait at the seam for the one with the latest stamps (a clock seconds ahead): on the 4-camera
    bench rig three cameras paused for 2.4 s every 8 s and then sent their backlog at once, a
    burst that no camera driver produces.
    """
    heap = [(stamps[0], camera, 0, 0) for camera, stamps in stamps_ns.items() if stamps]
    heapq.heapify(heap)
    while heap:
        due_ns, camera, index, loop = heapq.heappop(heap)
        yield due_ns, camera, index, loop
        index, loop = (index + 1, loop) if index + 1 < len(stamps_ns[camera]) else (0, loop + 1)
        heapq.heappush(heap, (stamps_ns[camera][index] + loop * period_ns, camera, index, loop))


def restamped(msg, stamp_ns: int):
    """The message with its header stamp set to ``stamp_ns`` (in place; messages are reused)."""
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
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
    print(f"publishing {sum(map(len, messages.values()))} frames per loop", flush=True)
    with open(args.publish_log, "w") if args.publish_log else contextlib.nullcontext() as log:
        _stream(args, messages, int(world.config.duration_s * 1e9), publishers, log)
    node.destroy_node()
    rclpy.shutdown()


def _stream(args: argparse.Namespace, messages: dict[str, list[tuple[int, list]]], period_ns: int, publishers: dict,
            log: TextIO | None) -> None:  # fmt: skip
    """Publish the looped recording at real-time pace for ``args.run_s`` seconds."""
    start = time.monotonic()
    first_ns = min(frames[0][0] for frames in messages.values() if frames)
    stamps_ns = {camera: [stamp_ns for stamp_ns, _ in frames] for camera, frames in messages.items()}
    sent = 0
    for due_ns, camera, index, _loop in paced_schedule(stamps_ns, period_ns):
        time.sleep(max(0.0, start + (due_ns - first_ns) / 1e9 - time.monotonic()))
        elapsed = time.monotonic() - start
        if elapsed > args.run_s:
            break
        if camera == args.stop_camera and elapsed > args.stop_after_s:
            continue
        sent += 1
        for kind, msg in messages[camera][index][1]:
            if kind == "image" and args.malformed_every and camera == "cam0" and sent % args.malformed_every == 0:
                msg = malformed(msg)
            publishers[camera][kind].publish(restamped(msg, due_ns))
        if log is not None:
            log.write(f"{camera} {due_ns} {time.monotonic_ns()}\n")
            log.flush()


def _image_type(camera: str) -> type:
    return Image if CAMERA_STYLE[camera][0] == "raw" else CompressedImage


if __name__ == "__main__":
    main()
