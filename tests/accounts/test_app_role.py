"""On PostgreSQL the application runs under a role that cannot erase the audit trail.

Runs in make test's PostgreSQL pass (scripts/test), which CI=true makes mandatory; SQLite has no
roles (its triggers are tested in test_audit.py).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [
    pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                       reason="database roles exist on PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def app_role(tmp_path: Any) -> Any:
    import psycopg

    role = f"warta_app_test_{os.getpid()}"
    secret = tmp_path / "pw"
    secret.write_text("Sandi-Peran-Uji-2026\n")
    call_command("db-app-role", role, "--password-file", str(secret))
    s = connection.settings_dict
    conn = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=s["NAME"],
                           user=role, password="Sandi-Peran-Uji-2026", autocommit=True)
    try:
        yield conn
    finally:
        conn.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def _refused(conn: Any, statement: str) -> bool:
    import psycopg

    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_the_app_role_appends_to_the_audit_trail_but_cannot_erase_it(app_role: Any) -> None:
    app_role.execute(
        "INSERT INTO accounts_auditevent (at, actor_name, action, object_type, object_id, object_repr, changes, prev_hash, hash)"
        " VALUES (now(), 'sistem', 'test.insert', '', '', '', '{}', '', '')"
    )
    assert app_role.execute("SELECT count(*) FROM accounts_auditevent").fetchone()[0] == 1
    assert _refused(app_role, "DELETE FROM accounts_auditevent")
    assert _refused(app_role, "TRUNCATE accounts_auditevent")
    assert _refused(app_role, "UPDATE accounts_auditevent SET action = 'x'")
    assert _refused(app_role, "ALTER TABLE accounts_auditevent DISABLE TRIGGER audit_no_delete")
    assert _refused(app_role, "DROP TRIGGER audit_no_delete ON accounts_auditevent")


def test_the_app_role_runs_the_rest_of_warta(app_role: Any) -> None:
    # Sessions are written and deleted, contacts edited: the other tables are the application's.
    app_role.execute("INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('k', 'd', now())")
    app_role.execute("UPDATE django_session SET session_data = 'e' WHERE session_key = 'k'")
    app_role.execute("DELETE FROM django_session WHERE session_key = 'k'")


def test_the_owner_cannot_be_made_the_app_role() -> None:
    from django.core.management import CommandError

    owner = connection.settings_dict["USER"] or "postgres"
    with pytest.raises(CommandError):
        call_command("db-app-role", owner)
