"""Schema migrations with Alembic: upgrade, downgrade, the current revision.

The migrations live in this package (`migrations/`), so an installed platform-core can build
its schema without an alembic.ini: `platform-core db upgrade` calls `upgrade` here. They run
on a synchronous connection (psycopg 3 or the standard sqlite3 module).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from adapters.persistence.sql.engine import database_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sync_url = database_url(url, sync=True).render_as_string(hide_password=False)
    # ConfigParser interpolation would read a '%' in a password as a reference.
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(database_url(url, sync=True), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()
