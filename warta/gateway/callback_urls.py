"""URLs Kannel calls (mounted at ``/gateway/kannel/``); see ``warta.gateway.callbacks``."""

from __future__ import annotations

from django.urls import path

from . import callbacks

app_name = "gateway_callbacks"

urlpatterns = [
    path("<str:kid>/dlr", callbacks.kannel_dlr, name="kannel_dlr"),
    path("<str:kid>/mo", callbacks.kannel_mo, name="kannel_mo"),
]
