"""The `platform-core` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platform-core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run whole order lifecycles on the embedded adapters and print timelines"
    )
    demo.add_argument(
        "--scenario",
        choices=["all", "happy", "failed-payment", "split-shipment", "automation-fallback"],
        default="all",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from entrypoints.demo import run_demo

        return asyncio.run(run_demo(args.scenario, sys.stdout))
    return 2


if __name__ == "__main__":
    sys.exit(main())
