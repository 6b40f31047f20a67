"""The start-up every rig-wide node shares: namespace, declared parameters, diagnostics, rig.

The all-in-one, sync and splat nodes all serve the whole rig described by the ``rig_file``
parameter; their parameters map onto core config dataclasses through :class:`NodeParameters`,
and rejected run-time updates are reported on ``/diagnostics``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from s4_ros.config_fields import ParameterGroup
from s4_ros.diagnostics import DiagnosticsPublisher
from s4_ros.parameters import NodeParameters
from s4_ros.rig import Rig, load_rig
from s4_ros.work_thread import WorkingNode


class RigNode(WorkingNode):
    """A node over the rig file (namespace ``/s4`` unless given).

    Subclasses pass their parameter groups (the root group ``""`` must have a ``rig_file``
    field) and override :meth:`_reconfigure` to apply accepted run-time updates.
    """

    def __init__(self, node_name: str, parameter_groups: Sequence[ParameterGroup], **node_kwargs) -> None:
        """Args: node_name: the node's name; parameter_groups: its declared parameters;
        node_kwargs: passed to rclpy's Node (namespace defaults to ``/s4``).

        Raises:
            ValueError: ``rig_file`` is empty or the rig file is invalid.
        """
        node_kwargs.setdefault("namespace", "/s4")
        super().__init__(node_name, **node_kwargs)
        self._diagnostics = DiagnosticsPublisher(self)
        self._params = NodeParameters(self, parameter_groups, self._reconfigure, self._diagnostics.parameter_rejected)
        self.config = self._params.configs[""]
        if not self.config.rig_file:
            raise ValueError("parameter rig_file is required (the rig YAML listing the cameras)")
        self.rig: Rig = load_rig(self.config.rig_file)
        self._lock = threading.Lock()

    def _reconfigure(self, prefix: str, config) -> None:
        """An accepted parameter update of group ``prefix``; nodes apply it here."""
