"""Settings → Gateway: connections (administrators only) and each bind's state, live."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from warta.accounts.permissions import capability_required

from . import services
from .forms import ConnectionForm
from .models import Connection, EngineLease


def _rows() -> list[dict[str, object]]:
    return [services.describe(c) | {"pk": c.pk}
            for c in Connection.objects.prefetch_related("routes__sender", "bind_leases")]


@capability_required("gateway.manage")
def connection_list(request: HttpRequest) -> HttpResponse:
    return render(request, "gateway/connection_list.html", {"rows": _rows(), "engines": EngineLease.objects.all()})


@capability_required("gateway.manage")
def bind_states(request: HttpRequest) -> HttpResponse:
    """The htmx-polled fragment: binds and engines, refreshed every two seconds."""
    return render(request, "gateway/_binds.html", {"rows": _rows(), "engines": EngineLease.objects.all()})


@capability_required("gateway.manage")
def connection_add(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            conn = services.add_connection(d["name"], d["url"], senders=[s.name for s in d["senders"]],
                                           operators=d["operators"], prefixes=d["prefixes"], priority=d["priority"],
                                           actor=request.user)
        except services.GatewayError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Koneksi %(n)s ditambahkan.") % {"n": conn.name})
            return redirect("gateway:connections")
    return render(request, "gateway/connection_form.html", {"form": form})


@capability_required("gateway.manage")
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    conn = get_object_or_404(Connection, pk=pk)
    initial = {"name": conn.name, "senders": [r.sender for r in conn.routes.all() if r.sender],
               "operators": conn.operator_names(), "prefixes": ", ".join(conn.prefix_names()),
               "priority": conn.priority, "is_active": conn.is_active}
    form = ConnectionForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_connection(conn, url=d["url"] or None, senders=[s.name for s in d["senders"]],
                                       operators=d["operators"], prefixes=d["prefixes"], priority=d["priority"],
                                       is_active=d["is_active"], actor=request.user)
        except services.GatewayError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Koneksi %(n)s disimpan.") % {"n": conn.name})
            return redirect("gateway:connections")
    return render(request, "gateway/connection_form.html", {"form": form, "object": conn})
