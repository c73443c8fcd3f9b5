"""``create_*`` helpers for the blast workflow tests; defaults keep the invariants (a sender ID
with its default chain, a group with contacts, a draft ready to submit)."""

from __future__ import annotations

import itertools
from typing import Any

_n = itertools.count(1)


def mobile(n: int | None = None, prefix: str = "812") -> str:
    n = next(_n) if n is None else n
    return f"+62{prefix}{20000000 + n:08d}"


def create_sender(name: str = "GubDKI") -> Any:
    from warta.blasts.models import SenderID

    return SenderID.objects.get_or_create(name=name)[0]


def create_group_with(n: int = 3, *, names: list[str] | None = None, prefix: str = "812") -> Any:
    from warta.contacts.models import Contact, ContactGroup, Membership

    group = ContactGroup.objects.create(name=f"Grup {next(_n)}", lawful_basis="public_task")
    for i in range(n):
        number = mobile(prefix=prefix)
        from warta.sms import parse_number

        c = Contact.objects.create(e164=number, name=(names[i] if names else f"Warga {i}"),
                                   operator=str(parse_number(number).operator))
        Membership.objects.create(contact=c, group=group)
    return group


def create_materi(liaison: Any, **fields: Any) -> Any:
    from warta.blasts import services

    fields.setdefault("title", "Peringatan banjir")
    fields.setdefault("content", "Tinggi muka air Katulampa siaga 3.")
    fields.setdefault("contact_person", "Budi (BPBD)")
    return services.submit_materi(liaison, **fields)


def create_draft(author: Any, *, sender: str = "GubDKI", group: Any = None, **fields: Any) -> Any:
    from warta.blasts import services

    if group is None:
        group = create_group_with(3)
    fields.setdefault("title", "Siaga banjir")
    fields.setdefault("text", "Waspada banjir. Tinggi air Katulampa siaga 3. Info: 112.")
    fields.setdefault("audience", {"groups": [group.pk]})
    return services.create_draft(author, sender=create_sender(sender), **fields)


def approve_all(draft: Any, actors: dict[str, Any], now: Any = None) -> Any:
    """Take every step of the draft's chain with the actors' verifier and approver."""
    from warta.blasts import services

    for role in ("verifier", "approver"):
        draft.refresh_from_db()
        if draft.state != "review":
            break
        draft = services.approve(draft, actors[role], now=now)
    return draft
