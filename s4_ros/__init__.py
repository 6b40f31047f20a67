"""s4's ROS 2 layer: rclpy nodes and message conversions over :mod:`s4_core`.

Nothing here computes: each node decodes messages into ``s4_core`` types, hands them to the
core stage it wraps and encodes what comes back. Topics live under one namespace (``/s4`` by
default); ``config/`` holds the rig and parameter YAML files, ``launch/`` the launch files.
"""
