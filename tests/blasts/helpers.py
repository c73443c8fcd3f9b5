"""``create_*`` helpers for the blast workflow tests; defaults keep the invariants (a sender ID
with its default chain, a group with contacts, a draft ready to submit)."""

from __future__ import annotations

import itertools
from typing import Any

_n = itertools.count(1)


def mobile(n: int | None = None, prefix: str = "812") -> str:
    n = next(_n) if n is None else n
    return f"+62{prefix}{20000000 + n:08d}"


# Who owns each sender ID in the tests, as in the demo: the Kepala Dinas ("penyetuju") owns the
# masks whose chain ends with a Kepala Dinas; HumasDKI's one-step chain is the Verifikator's.
DEFAULT_OWNERS = {"HumasDKI": "verifikator"}


def create_sender(name: str = "GubDKI", owner: Any = None) -> Any:
    from warta.accounts.models import User
    from warta.blasts.models import SenderID

    if owner is None:
        owner = User.objects.filter(username=DEFAULT_OWNERS.get(name, "penyetuju")).first()
    return SenderID.objects.get_or_create(name=name, defaults={"owner": owner})[0]


def verified(user: Any) -> Any:
    """``user`` as the web sees it after a TOTP login: django-otp's middleware sets
    ``is_verified`` on the request's user, and final approvals require it."""
    user.is_verified = lambda: True
    return user


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
        draft = services.approve(draft, verified(actors[role]), now=now)
    return draft


def login_with_totp(client: Any, user: Any) -> Any:
    """Log ``user`` in on the test client with a confirmed TOTP device, as a final approver must."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from tests.conftest import confirm_totp

    client.force_login(user)
    device = user.totpdevice_set.filter(confirmed=True).first() or confirm_totp(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def create_staff_phone(user: Any, number: str) -> Any:
    """A staff member's number, already verified (the code round trip has its own tests)."""
    from django.utils import timezone

    from warta.blasts.models import StaffPhone
    from warta.sms import parse_number

    return StaffPhone.objects.create(user=user, e164=parse_number(number).e164, verified_at=timezone.now())
