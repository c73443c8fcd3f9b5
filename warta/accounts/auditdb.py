"""The database's own guard of the audit trail: triggers, and the application role.

Theory of operation: the model refuses updates and deletes, but a shell, a script or a future bug
talks to the database directly. So the database refuses them too:

* SQLite: ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers abort. (SQLite has no TRUNCATE; its
  "truncate optimisation" of ``DELETE FROM t`` is disabled by a DELETE trigger.)
* PostgreSQL: ``BEFORE UPDATE``/``BEFORE DELETE`` row triggers and a ``BEFORE TRUNCATE`` statement
  trigger raise. A trigger stops everyone *except the table's owner*, who may ``DISABLE TRIGGER``
  or ``DROP TRIGGER``. Hence the second half: the application runs under a role that does not
  own the table and has only SELECT and INSERT on it (``app_role_sql``, run by
  ``warta db-app-role``); the owner is the migration role, used only for ``warta migrate``.
  What an owner still does is caught afterwards by the hash chain (``warta audit verify``).

The triggers are (re)installed after every migration (``post_migrate``): SQLite rebuilds a table
for many schema changes, and a rebuilt table has lost its triggers.

Tests: pytest-django empties the database between transactional tests with DELETE (SQLite) or
TRUNCATE (PostgreSQL), which the triggers refuse. The test suite's conftest lifts the DELETE and
TRUNCATE triggers around that one flush, inside the flush's transaction, as the database owner
(which the test process is). Nothing in the application can lift them, so production stays strict.
"""

from __future__ import annotations

from typing import Any

TABLE = "accounts_auditevent"
MESSAGE = "audit trail is append-only"

SQLITE_TRIGGERS = {
    "audit_no_update": f"CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    "audit_no_delete": f"CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
}

POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION warta_audit_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql;"
)
POSTGRES_TRIGGERS = {
    # audit_append_only is migration 0002's name for the UPDATE trigger; kept so that it is replaced.
    "audit_append_only": f"CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE ON {TABLE} "
                         "FOR EACH ROW EXECUTE FUNCTION warta_audit_append_only();",
    "audit_no_delete": f"CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON {TABLE} "
                       "FOR EACH ROW EXECUTE FUNCTION warta_audit_append_only();",
    "audit_no_truncate": f"CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {TABLE} "
                         "FOR EACH STATEMENT EXECUTE FUNCTION warta_audit_append_only();",
}
# The triggers a test flush lifts (never UPDATE's: a flush does not update).
FLUSH_TRIGGERS = {"sqlite": ["audit_no_delete"], "postgresql": ["audit_no_delete", "audit_no_truncate"]}


def install_triggers(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            for sql in POSTGRES_TRIGGERS.values():
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)


def drop_triggers(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in POSTGRES_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE}")
        elif connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def flush_wrapping_sql(vendor: str) -> tuple[list[str], list[str]]:
    """SQL to run before and after a test flush (see the module docstring)."""
    names = FLUSH_TRIGGERS.get(vendor, [])
    if vendor == "postgresql":
        return ([f"ALTER TABLE {TABLE} DISABLE TRIGGER {n}" for n in names],
                [f"ALTER TABLE {TABLE} ENABLE TRIGGER {n}" for n in names])
    if vendor == "sqlite":
        return ([f"DROP TRIGGER IF EXISTS {n}" for n in names], [SQLITE_TRIGGERS[n] for n in names])
    return [], []


def app_role_sql(role: str, database: str, owner: str) -> list[str]:
    """GRANTs that let ``role`` run Warta (read and write every table) but only read and append
    to the audit trail. ``owner`` is the migration role: tables it creates later are granted too."""
    from psycopg import sql

    r, db, o = sql.Identifier(role), sql.Identifier(database), sql.Identifier(owner)
    t = sql.Identifier(TABLE)
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, r),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(r),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(r),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(o, r),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(o, r),
        # The audit trail: read and append only.
        sql.SQL("REVOKE ALL ON {} FROM {}").format(t, r),
        sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(t, r),
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(t),
    ]
    return [s.as_string(None) for s in statements]
