"""Signals the insights app sends.

``poll_closed(sender=Poll, poll=Poll, results=dict)``: a poll's reply window is over and its
results are final (sent once, by ``polls.close_due``, run by the scheduler). ``results`` is
``services.poll_results(poll)``. Receivers: the reports app (monthly report), the API's webhooks.
"""

from __future__ import annotations

from django.dispatch import Signal

poll_closed = Signal()
