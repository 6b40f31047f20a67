"""A new rosbag2 that appears at its destination only once it is complete.

The bag is written inside a hidden sibling directory and renamed into place by
:meth:`StagedBagWriter.commit`; on any failure (or without a commit) the staging directory is
removed, so an interrupted run never leaves a partial output that looks finished.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from rosbags.interfaces import Connection, Qos
from rosbags.rosbag2 import StoragePlugin, Writer

from s4_core.bagtool.typestore import s4_typestore

log = logging.getLogger(__name__)

#: Storage names as rosbag2 spells them.
STORAGES: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def check_new_path(out: Path) -> None:
    """Raise ValueError naming the problem when a new bag cannot be created at ``out``."""
    parent = out.parent.resolve()
    if out.exists() or out.is_symlink():
        raise ValueError(f"{out} already exists")
    if not parent.is_dir():
        raise ValueError(f"directory {out.parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"directory {out.parent} is not writable")


class StagedBagWriter:
    """A rosbag2 writer that publishes its bag atomically; use as a context manager.

    Args:
        out: destination bag directory; must not exist.
        storage: ``"mcap"`` or ``"sqlite3"``.
    """

    def __init__(self, out: Path, storage: str) -> None:
        if storage not in STORAGES:
            raise ValueError(f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}")
        check_new_path(out)
        self.out = out
        self._staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        self._writer = Writer(self._staging / out.name, version=9, storage_plugin=STORAGES[storage])
        self._committed = False

    def __enter__(self) -> "StagedBagWriter":
        try:
            self._writer.open()
        except BaseException:
            shutil.rmtree(self._staging, ignore_errors=True)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            self._writer.abort()
            shutil.rmtree(self._staging, ignore_errors=True)
            log.debug("discarded the unfinished %s", self.out)

    def copy_connection(self, source: Connection, topic: str | None = None) -> Connection:
        """A connection like ``source`` of another bag: type, definition, hash, QoS; its topic
        unless ``topic`` is given."""
        definition = {"msgdef": source.msgdef.data, "rihs01": source.digest} if source.digest else {}
        return self._writer.add_connection(
            topic or source.topic,
            source.msgtype,
            typestore=s4_typestore(),
            serialization_format=source.ext.serialization_format,
            offered_qos_profiles=source.ext.offered_qos_profiles,
            **definition,
        )

    def add_connection(self, topic: str, msgtype: str, qos: list[Qos] | None = None) -> Connection:
        """A new connection of a type the s4 typestore knows."""
        return self._writer.add_connection(topic, msgtype, typestore=s4_typestore(), offered_qos_profiles=qos or [])

    def write(self, connection: Connection, log_time_ns: int, data: bytes | memoryview) -> None:
        """Write one serialized message."""
        self._writer.write(connection, log_time_ns, data)

    def commit(self) -> Path:
        """Close the bag and move it to its destination; returns the destination."""
        self._writer.close()
        os.replace(self._staging / self.out.name, self.out)
        self._committed = True
        shutil.rmtree(self._staging, ignore_errors=True)
        log.info("wrote %s", self.out)
        return self.out
