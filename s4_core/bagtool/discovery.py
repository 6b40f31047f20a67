"""Which topics of a recording make up which camera.

Cameras are found from topic names and types alone, following the ROS camera conventions
(``<ns>/image_raw`` beside ``<ns>/camera_info``; image_transport's ``<base>/compressed``; depth
under the same namespace, as ``<ns>/depth/image_raw`` or RealSense's
``<ns>/aligned_depth_to_color/image_raw``), so a bag from any driver syncs without
configuration. ``--camera`` pins the topics where the names are unconventional.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from posixpath import dirname

log = logging.getLogger(__name__)

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_IMAGE_TYPE)

#: Namespace components that name a stream of a camera rather than the camera itself.
_STREAM_COMPONENTS = frozenset({"color", "rgb"})

#: Words that mark a depth topic aligned (registered) to the colour image.
_ALIGNED_WORDS = ("aligned", "registered")


@dataclass(frozen=True)
class CameraTopics:
    """The topics of one camera in a recording.

    Attributes:
        name: camera name, from its namespace (``/cam0/image_raw`` -> ``cam0``).
        image_topic: colour/mono image topic.
        image_type: its message type, Image or CompressedImage.
        info_topic: its CameraInfo topic, None when the recording has none.
        depth_topic: depth Image aligned with the image, None without depth.
    """

    name: str
    image_topic: str
    image_type: str
    info_topic: str | None = None
    depth_topic: str | None = None


@dataclass(frozen=True)
class CameraOverride:
    """One ``--camera NAME=IMAGE_TOPIC[,info=TOPIC][,depth=TOPIC]`` option, parsed.

    Attributes:
        name: camera name.
        image_topic: image topic.
        info_topic: CameraInfo topic; None to find it by convention.
        depth_topic: depth topic; None to find it by convention.
    """

    name: str
    image_topic: str
    info_topic: str | None = None
    depth_topic: str | None = None

    @classmethod
    def parse(cls, text: str) -> "CameraOverride":
        """Parse ``NAME=IMAGE_TOPIC[,info=TOPIC][,depth=TOPIC]``.

        Raises:
            ValueError: malformed text, naming what is wrong.
        """
        name, sep, rest = text.partition("=")
        parts = rest.split(",")
        if not sep or not name or not parts[0]:
            raise ValueError(f"--camera {text!r}: expected NAME=IMAGE_TOPIC[,info=TOPIC][,depth=TOPIC]")
        options: dict[str, str] = {}
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            if key not in ("info", "depth") or not sep or not value or key in options:
                raise ValueError(f"--camera {text!r}: {part!r} is not info=TOPIC or depth=TOPIC (each once)")
            options[key] = value
        return cls(name, parts[0], options.get("info"), options.get("depth"))


def discover_cameras(topic_types: Mapping[str, str]) -> list[CameraTopics]:
    """Cameras found by convention among ``{topic: message type}``, sorted by name.

    Every non-depth Image/CompressedImage topic is a candidate; when two candidates claim one
    camera name (``image_raw`` and ``image_raw/compressed``, or ``image_raw`` and
    ``image_rect``) the raw Image wins, then the alphabetically first topic, and the others are
    logged as ignored.
    """
    candidates = sorted(
        (topic for topic, msgtype in topic_types.items() if msgtype in IMAGE_TYPES and not _is_depth(topic)),
        key=lambda topic: (topic_types[topic] != IMAGE_TYPE, topic),
    )
    cameras: dict[str, CameraTopics] = {}
    for topic in candidates:
        camera = _camera_for(topic, topic_types[topic], topic_types, None, None)
        if camera.name in cameras:
            log.info("ignoring %s: camera %s already uses %s", topic, camera.name, cameras[camera.name].image_topic)
            continue
        cameras[camera.name] = camera
    return [cameras[name] for name in sorted(cameras)]


def cameras_from_overrides(
    overrides: list[CameraOverride], topic_types: Mapping[str, str]
) -> list[CameraTopics]:
    """The cameras ``--camera`` names, exactly those, with unnamed info/depth found by convention.

    Raises:
        ValueError: a named topic is missing or of the wrong type, or a name repeats.
    """
    names = [override.name for override in overrides]
    if len(set(names)) != len(names):
        raise ValueError(f"--camera names repeat: {', '.join(names)}")
    cameras = []
    for override in overrides:
        _require_topic(override.image_topic, IMAGE_TYPES, topic_types)
        if override.info_topic is not None:
            _require_topic(override.info_topic, (CAMERA_INFO_TYPE,), topic_types)
        if override.depth_topic is not None:
            _require_topic(override.depth_topic, (IMAGE_TYPE,), topic_types)
        found = _camera_for(
            override.image_topic, topic_types[override.image_topic], topic_types,
            override.info_topic, override.depth_topic,
        )
        cameras.append(
            CameraTopics(override.name, found.image_topic, found.image_type, found.info_topic, found.depth_topic)
        )
    return cameras


def _camera_for(
    image_topic: str,
    image_type: str,
    topic_types: Mapping[str, str],
    info_topic: str | None,
    depth_topic: str | None,
) -> CameraTopics:
    image_ns = _image_namespace(image_topic, image_type)
    camera_ns = _camera_namespace(image_ns)
    return CameraTopics(
        name=camera_ns.strip("/").replace("/", "_") or "camera",
        image_topic=image_topic,
        image_type=image_type,
        info_topic=info_topic or _find_info(image_ns, camera_ns, topic_types),
        depth_topic=depth_topic or _find_depth(camera_ns, topic_types),
    )


def _image_namespace(image_topic: str, image_type: str) -> str:
    """Namespace of the image, seen through image_transport's ``<base>/compressed`` suffix."""
    base = image_topic
    if image_type == COMPRESSED_IMAGE_TYPE and base.endswith("/compressed"):
        base = base.removesuffix("/compressed")
    return dirname(base)


def _camera_namespace(image_ns: str) -> str:
    """The camera's namespace: the image's, less a stream component (``/camera/color`` -> ``/camera``)."""
    if image_ns.rsplit("/", 1)[-1] in _STREAM_COMPONENTS:
        return dirname(image_ns)
    return image_ns


def _find_info(image_ns: str, camera_ns: str, topic_types: Mapping[str, str]) -> str | None:
    beside = f"{image_ns.rstrip('/')}/camera_info"
    if topic_types.get(beside) == CAMERA_INFO_TYPE:
        return beside
    infos = [t for t, m in topic_types.items() if m == CAMERA_INFO_TYPE and _under(t, camera_ns) and not _is_depth(t)]
    return min(infos, key=lambda t: (len(t), t)) if infos else None


def _find_depth(camera_ns: str, topic_types: Mapping[str, str]) -> str | None:
    depths = [t for t, m in topic_types.items() if m == IMAGE_TYPE and _under(t, camera_ns) and _is_depth(t)]
    if not depths:
        return None
    return min(depths, key=lambda t: (not any(word in t for word in _ALIGNED_WORDS), len(t), t))


def _require_topic(topic: str, msgtypes: tuple[str, ...], topic_types: Mapping[str, str]) -> None:
    if topic not in topic_types:
        raise ValueError(f"topic {topic} is not in the recording")
    if topic_types[topic] not in msgtypes:
        raise ValueError(f"topic {topic} carries {topic_types[topic]}, expected {' or '.join(msgtypes)}")


def _under(topic: str, namespace: str) -> bool:
    return topic.startswith(namespace.rstrip("/") + "/")


def _is_depth(topic: str) -> bool:
    return "depth" in topic.lower()
