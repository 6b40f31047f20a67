"""s4's ROS 2 layer: rclpy nodes and message conversions over :mod:`s4_core`.

Nothing here computes: each node decodes messages into ``s4_core`` types, hands them to the
core stage it wraps and encodes what comes back. ``config/`` holds the rig and parameter YAML
files, ``launch/`` the launch files. Two ways to run a rig (topics relative to ``/s4``):

- ``s4_all_in_one`` (:mod:`.all_in_one`, node ``pipeline``): every camera through
  :class:`s4_core.pipeline.StreamingPipeline` in one process;
- distributed: ``tracker_node`` per camera (node ``tracker`` in ``/s4/<camera>``),
  ``sync_node`` (``sync``) and ``splat_node`` (``splat``).

Both publish the same topics:

==============================  ============================  =============================
topic                           type                          from
==============================  ============================  =============================
``<camera>/tracks``             s4/TrackSet                   tracker / pipeline
``<camera>/tracks/points``      sensor_msgs/PointCloud2       tracker / pipeline
``<camera>/tracks/markers``     visualization_msgs/MarkerArray tracker / pipeline
``clock_offsets``               s4/ClockOffsetArray           sync / pipeline
``correspondences``             s4/TrackCorrespondences       sync / pipeline
``synced/<camera>/image_raw``   Image (``/compressed``)       sync / pipeline
``synced/<camera>/camera_info`` sensor_msgs/CameraInfo        sync / pipeline
``splats``                      sensor_msgs/PointCloud2       splat / pipeline
``splats/ellipsoids``           visualization_msgs/MarkerArray splat / pipeline
``scaffold``                    visualization_msgs/MarkerArray splat / pipeline
``/diagnostics``                diagnostic_msgs/DiagnosticArray every node, per camera
==============================  ============================  =============================
"""
