"""Entry point of the ``s4`` console script.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a parser
and sets ``func`` to a callable taking the parsed namespace and returning an exit code. Bad
input raises :class:`~s4_core.cli.errors.UsageError` and becomes a one-line error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from s4_core.cli.errors import UsageError

#: Subcommand modules, in the order ``s4 --help`` lists them.
SUBCOMMAND_MODULES = (
    "s4_core.cli.demo_cmd",
    "s4_core.cli.synth_cmd",
    "s4_core.cli.bench_cmd",
    "s4_core.cli.sync_bag_cmd",
    "s4_core.cli.train_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="s4", description="Synchronize unsynchronized cameras into one 4D model."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand, map user errors to exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"s4 {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"s4 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
