"""Background jobs of the insights app (django-tasks; run by ``warta worker``)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def retrain_model() -> dict[str, Any]:
    """Train a new model version on the labelled set plus the analysts' corrections."""
    from . import engine

    row = engine.retrain()
    return {"version": row.version, "trained_on": row.trained_on, "corrections": row.corrections}
