"""Checks a command makes before it starts: the settings hold, the database answers and is migrated.

Each problem is one line that names the setting and what is wrong; the command line prints it and
exits 2, with no traceback.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from receivables.core import configuration

UNREACHABLE = "cannot connect to the database"


def database_line(error: DatabaseError) -> str:
    """A database error as one line naming DATABASE_URL (never its password)."""
    text = " ".join(str(error).split()) or type(error).__name__
    reason = text.removeprefix("connection failed: ")
    if "timeout expired" in text:
        seconds = settings.ENV["DATABASE_CONNECT_TIMEOUT"]
        reason = f"no answer within {seconds} s (DATABASE_CONNECT_TIMEOUT)"
    return f"DATABASE_URL={_shown_database()}: {UNREACHABLE}: {reason}"


def _shown_database() -> str:
    config = settings.DATABASES["default"]
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    user = f"{config.get('USER')}@" if config.get("USER") else ""
    return f"postgres://{user}{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}/{config['NAME']}"


def pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def database_problems(*, needs_schema: bool) -> list[str]:
    try:
        connection.ensure_connection()
    except DatabaseError as error:
        return [database_line(error)]
    if needs_schema:
        pending = pending_migrations()
        if pending:
            return [
                f"DATABASE_URL={_shown_database()}: the database is not migrated ({pending} migration(s) to apply): "
                "run `receivables migrate`"
            ]
    return []


def setting_problems() -> list[str]:
    """Settings whose rule needs the application loaded (a malformed one never gets this far:
    settings.py refuses it)."""
    return [str(error) for error in configuration.check_loaded(settings)]
