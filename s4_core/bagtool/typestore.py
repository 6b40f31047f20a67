"""The one typestore the bag tool reads and writes with: ROS 2 Kilted plus the s4 interfaces.

Kilted's definitions give the same RIHS01 type hashes as rclpy, so bags written here play back
on a robot; the s4 types are generated from the project's own ``msg/*.msg`` files rather than
hand-written, so they cannot drift from what rosidl builds.
"""

from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

#: Folder of the s4 interface definitions (the rosidl package's ``msg/``).
S4_MSG_DIR = Path(__file__).resolve().parents[2] / "msg"

#: ROS package name of the s4 interfaces.
S4_PACKAGE = "s4"


@functools.cache
def s4_typestore() -> Typestore:
    """Kilted's typestore with every ``s4/msg/*`` type registered (built once, then shared).

    Raises:
        FileNotFoundError: the ``msg/`` folder is missing (s4_core installed without it).
    """
    msg_files = sorted(S4_MSG_DIR.glob("*.msg"))
    if not msg_files:
        raise FileNotFoundError(f"no s4 message definitions in {S4_MSG_DIR}")
    typestore = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in msg_files:
        types.update(get_types_from_msg(path.read_text(), f"{S4_PACKAGE}/msg/{path.stem}"))
    typestore.register(types)
    return typestore
