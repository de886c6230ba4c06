"""The `platform-core` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from platform_core.shared.errors import DomainError


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
    _service_commands(commands)
    _key_commands(commands)
    return parser


def _service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="run the API (with the inline worker when the queue is inline://)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--seed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="seed the demo data first (default: only with the embedded inline queue)",
    )
    commands.add_parser("worker", help="run the SAQ workers, cron jobs and the outbox relay")
    commands.add_parser("seed", help="create the demo company and catalogue (idempotent)")
    courier = commands.add_parser(
        "simulate-courier",
        help="replay tracking events for a shipment through the courier webhook of a running API",
    )
    courier.add_argument("tracking_number")
    courier.add_argument("--courier", default="simulator")
    courier.add_argument("--api-url", default="http://127.0.0.1:8000")
    courier.add_argument("--hours-ago", type=float, default=24, help="when the first scan happened")
    stripe_mock = commands.add_parser(
        "stripe-mock",
        help="mock mode: pay, fail or expire an order's checkout through the Stripe webhook "
        "of a running API (events signed with STRIPE_WEBHOOK_SECRET)",
    )
    stripe_mock.add_argument("action", choices=["pay", "fail", "expire"])
    stripe_mock.add_argument("order_id")
    stripe_mock.add_argument("--api-url", default="http://127.0.0.1:8000")
    stripe_mock.add_argument(
        "--async",
        dest="delayed",
        action="store_true",
        help="a delayed payment method: completed unpaid, then the async payment succeeds "
        "(pay) or fails (fail)",
    )


def _key_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("api-key", help="create, list or revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--role", choices=["admin", "support", "ops", "readonly"], required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--company-id", default=None, help="scope the key to one company")
    actions.add_parser("list", help="list keys (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("api_key_id")


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
    _logging(args.command)
    try:
        return _run(args)
    except DomainError as error:
        # A bad setting or argument: say what is wrong, without a traceback.
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 2


def _logging(command: str) -> None:
    if command in {"serve", "worker"}:
        # One line per record; request lines are JSON already.
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
        # Migrations on start would otherwise print every Alembic plugin they load.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    else:
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def _run(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "demo":
        from entrypoints.demo import run_demo

        return asyncio.run(run_demo(args.scenario, sys.stdout, args.database_url))
    if command == "db":
        return _database(args.action, getattr(args, "revision", None))
    if command == "serve":
        from entrypoints.cli.serve import serve

        return asyncio.run(serve(args.host, args.port, args.seed))
    if command == "worker":
        from entrypoints.bootstrap import Settings
        from entrypoints.worker import run_worker

        return asyncio.run(run_worker(Settings.from_env()))
    if command == "seed":
        return asyncio.run(_seed())
    if command == "simulate-courier":
        from entrypoints.cli.courier import simulate

        return simulate(args.api_url, args.tracking_number, args.courier, args.hours_ago)
    if command == "stripe-mock":
        from entrypoints.bootstrap import Settings
        from entrypoints.cli.stripe_mock import MockAction, play

        action = MockAction(args.action)
        return asyncio.run(
            play(Settings.from_env(), action, args.order_id, args.api_url, delayed=args.delayed)
        )
    if command == "api-key":
        return asyncio.run(_api_key(args))
    return 2


async def _seed() -> int:
    from entrypoints.bootstrap import Settings, bootstrap
    from entrypoints.seed import seed_catalogue

    platform = bootstrap(Settings.from_env())
    try:
        await platform.prepare()
        seeded = await seed_catalogue(platform.deps)
    finally:
        await platform.close()
    print(f"company {seeded.company_id}")
    for sku, product_id in sorted(seeded.product_ids.items()):
        print(f"product {sku}: {product_id}")
    return 0


async def _api_key(args: argparse.Namespace) -> int:
    from entrypoints.cli import keys

    if args.action == "create":
        return await keys.create(args.name, args.role, args.company_id)
    if args.action == "revoke":
        return await keys.revoke(args.api_key_id)
    return await keys.list_keys()


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
    current, head = migrate.current_revision(url), migrate.head_revision(url)
    print(f"{printable_url(url)}: at {current} (head {head})")
    return 0


def printable_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from adapters.persistence.sql.engine import database_url
    from entrypoints.bootstrap import MEMORY_URL

    if url == MEMORY_URL:
        return url
    return database_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
