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
    demo.add_argument(
        "--database-url",
        default="memory://",
        help="run on this database instead of in memory (e.g. sqlite:///demo.db)",
    )
    _database_commands(commands)
    return parser


def _database_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema: upgrade, downgrade, current revision")
    actions = db.add_subparsers(dest="action", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the schema up (to head by default)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = actions.add_parser("downgrade", help="migrate down (one revision by default)")
    downgrade.add_argument("revision", nargs="?", default="-1")
    actions.add_parser("current", help="print the current and the head revision")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from entrypoints.demo import run_demo

        return asyncio.run(run_demo(args.scenario, sys.stdout, args.database_url))
    if args.command == "db":
        return _database(args.action, getattr(args, "revision", None))
    return 2


def _database(action: str, revision: str | None) -> int:
    """Migrations of the database PLATFORM_DATABASE_URL names (the embedded SQLite default)."""
    from adapters.persistence.sql import migrate
    from entrypoints.bootstrap import MEMORY_URL, Settings

    url = Settings.from_env().database_url
    if url == MEMORY_URL:
        print("the in-memory store has no schema to migrate", file=sys.stderr)
        return 2
    if action == "upgrade":
        migrate.upgrade(url, revision or "head")
    elif action == "downgrade":
        migrate.downgrade(url, revision or "-1")
    print(f"{_safe(url)}: at {migrate.current_revision(url)} (head {migrate.head_revision(url)})")
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from adapters.persistence.sql.engine import database_url

    return database_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
