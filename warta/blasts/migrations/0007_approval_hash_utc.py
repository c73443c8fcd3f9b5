"""Approved drafts stuck since their approval: the hash used to cover ``send_at.isoformat()`` in
whatever zone the form gave (+07:00), release re-read it from the database in UTC and refused the
draft as changed (issue 11 item 4). The hash now covers the instant in UTC. For each draft whose
stored hashes equal the *old* hash of its current content (so nothing but the zone differs), this
moves the draft and its approvals to the new hash; any other mismatch stays refused."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

from django.db import migrations

WIB = ZoneInfo("Asia/Jakarta")


def _hash(d: Any, send_zone: Any, window_zone: Any) -> str:
    def iso(at: Any, zone: Any) -> Any:
        return at.astimezone(zone).isoformat() if at else None

    content = {
        "sender": d.sender_id, "text": d.text, "audience": d.audience or {},
        "send_at": iso(d.send_at, send_zone), "window_end": iso(d.window_end, window_zone),
        "emergency": bool(d.emergency), "emergency_reason": d.emergency_reason if d.emergency else "",
    }
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def forwards(apps: Any, schema_editor: Any) -> None:
    Draft = apps.get_model("blasts", "Draft")
    Approval = apps.get_model("blasts", "Approval")
    utc = UTC
    for d in Draft.objects.filter(send_at__isnull=False) | Draft.objects.filter(window_end__isnull=False):
        new = _hash(d, utc, utc)
        old = {_hash(d, a, b) for a, b in product((WIB, utc), repeat=2)} - {new}
        if d.content_hash in old:
            stale = d.content_hash
            Approval.objects.filter(draft=d, content_hash=stale).update(content_hash=new)
            fields = {"content_hash": new}
            if d.approved_hash == stale:
                fields["approved_hash"] = new
            Draft.objects.filter(pk=d.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [("blasts", "0006_blast_priority_reply")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
