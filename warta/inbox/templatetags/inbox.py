from __future__ import annotations

from django import template

from warta.sms.numbers import mask, to_national

register = template.Library()


@register.simple_tag
def show_number(address: str, view_full: bool) -> str:
    """A citizen's number: whole for roles with ``numbers.view_full``, masked for everyone else."""
    if not address.startswith("+") or not address[1:].isdigit():
        return address  # alphanumeric senders and short codes are not personal numbers
    if not view_full:
        return mask(address)
    return to_national(address) if address.startswith("+62") else address


@register.filter
def ticket_status(value: str) -> str:
    """A status code from a ticket's history ("selesai") as its label ("Selesai")."""
    from warta.inbox.models import TicketStatus

    try:
        return str(TicketStatus(value).label)
    except ValueError:
        return value
