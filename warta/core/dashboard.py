"""The home page's work list: what is waiting for *this* person, from each app's own services.

Each item is computed only when the user's role opens the area, and each count is an indexed
query over a small working set (open tickets, drafts awaiting a decision, new materi), never a
count over the message tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts.permissions import can_open


@dataclass(frozen=True)
class WorkItem:
    label: str
    count: int
    url: str
    urgent: bool = False


def work_items(user: Any) -> list[WorkItem]:
    items: list[WorkItem] = []
    if can_open(user, "blasts"):
        from warta.blasts import services as blasts

        items.append(WorkItem(_("Naskah menunggu keputusan Anda"), len(blasts.pending_for(user)),
                              reverse("blasts:approvals")))
        items.append(WorkItem(_("Pemberitahuan naskah belum dibaca"), blasts.unread_notices(user).count(),
                              reverse("blasts:index")))
    if can_open(user, "materi"):
        from warta.blasts import services as blasts
        from warta.blasts.workflow import Materi

        materi = blasts.visible_materi(user)
        items.append(WorkItem(_("Materi baru diterima"), materi.filter(status=Materi.Status.RECEIVED).count(),
                              reverse("blasts:materi")))
    if can_open(user, "inbox"):
        from warta.inbox import services as inbox

        tickets = inbox.tickets_for(user).filter(closed_at__isnull=True)
        items.append(WorkItem(_("Tiket terbuka"), tickets.count(), reverse("inbox:index")))
        overdue = tickets.filter(inbox.overdue_q(timezone.now())).count()
        items.append(WorkItem(_("Tiket melewati SLA"), overdue, reverse("inbox:index") + "?overdue=on",
                              urgent=overdue > 0))
    return items
