from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _guard_audit_trail(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Put the audit trail's triggers back after any migration (SQLite's table rebuilds drop them)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from . import auditdb

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("accounts", "0003_sec_audit_chain") in applied:
        auditdb.install_triggers(connection)


class AccountsConfig(AppConfig):
    name = "warta.accounts"
    verbose_name = _("Akun dan unit")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects login/logout auditing)

        post_migrate.connect(_guard_audit_trail, sender=self, dispatch_uid="warta_audit_triggers")
