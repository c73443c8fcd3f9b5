"""Background jobs of the API (django-tasks; run by ``warta worker``)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhooks() -> dict[str, int]:
    from .webhooks import deliver_due

    return deliver_due()
