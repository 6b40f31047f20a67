"""``s4 bench``: run benchmark suites and print their figures as a table."""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

from s4_core.bench.harness import BenchContext, BenchRow, format_table, write_json
from s4_core.bench.suites import SUITES
from s4_core.cli.errors import UsageError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure accuracy and speed, print a table")
    parser.add_argument(
        "--only", default="", help=f"comma-separated suites to run (default: all of {', '.join(SUITES)})"
    )
    parser.add_argument("--quick", action="store_true", help="smaller scenes, for CI and smoke checks")
    parser.add_argument("--seed", type=int, default=0, help="seed of the benchmark scenes")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise UsageError(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    ctx = BenchContext(quick=args.quick, seed=args.seed)
    rows: list[BenchRow] = []
    for name in names:
        log.info("running bench suite %s", name)
        rows.extend(importlib.import_module(SUITES[name]).run(ctx))
    print(format_table(rows))
    if args.json is not None:
        write_json(rows, args.json)
    return 0
