"""Signals the blasts app sends, for other apps to connect to (the API's webhooks, reports).

``blast_finished`` is sent once per blast, after the transaction that finished it committed,
when every message of the blast has reached a final state: the blast is then ``done``
(``selesai``), or it stays ``cancelled`` and gets its ``finished_at`` too. Arguments:
``sender=Blast, blast=<Blast>`` (``blast.state`` tells which).

Receivers run in the process that noticed the finish — usually a delivery engine's database
thread — so they must not block: queue a background job for anything that talks to the network
(e.g. a webhook call), do not do it inline.
"""

from __future__ import annotations

from django.dispatch import Signal

blast_finished = Signal()
