"""The ``s4`` command line: one front end per subcommand module, all over ``s4_core``."""
