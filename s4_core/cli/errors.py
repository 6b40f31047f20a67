"""The error a subcommand raises for bad user input: one line, no traceback, exit code 2."""


class UsageError(Exception):
    """Bad input from the user; ``s4`` prints ``s4 <cmd>: error: <message>`` and exits 2."""
