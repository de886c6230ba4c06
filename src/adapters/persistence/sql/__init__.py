"""SQL persistence: PostgreSQL (psycopg 3) and SQLite (aiosqlite) through SQLAlchemy 2 Core."""

from adapters.persistence.sql.database import SqlDatabase
from adapters.persistence.sql.uow import SqlUnitOfWork

__all__ = ["SqlDatabase", "SqlUnitOfWork"]
