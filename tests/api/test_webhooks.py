"""Webhooks: signed, delivered to a real HTTP receiver on 127.0.0.1, retried with back-off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tests.api.test_webhooks_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def make_hook(unit: Any, url: str, events: list[str] | None = None) -> tuple[Any, str]:
    from warta.api import webhooks

    return webhooks.create(unit, url, events or webhooks.EVENTS, None)


def test_ticket_routed_event_reaches_the_receiver_signed(receiver: Receiver, actors: dict[str, Any],
                                                         units: dict[str, Any],
                                                         django_capture_on_commit_callbacks: Any) -> None:
    from tests.api.test_inbox import routed
    from warta.api import webhooks
    from warta.api.models import Delivery

    hook, secret = make_hook(units["bpbd"], receiver.url)
    make_hook(units["dinkes"], receiver.url)  # another unit's hook hears nothing of BPBD's tickets
    with django_capture_on_commit_callbacks(execute=True):
        ticket = routed(actors, units["bpbd"])
    assert webhooks.deliver_due() == {"delivered": 1, "retry": 0, "failed": 0}
    (req,) = receiver.requests
    body = json.loads(req["body"])
    assert body["type"] == "ticket.routed" and body["data"]["ticket"]["id"] == ticket.pk
    assert body["unit"] == "bpbd" and "****" in body["data"]["ticket"]["citizen"]
    assert req["headers"]["Warta-Event"] == "ticket.routed" and req["headers"]["Warta-Delivery"] == body["id"]
    assert webhooks.verify(secret, req["headers"]["Warta-Signature"], req["body"])
    assert not webhooks.verify("whsec_wrong", req["headers"]["Warta-Signature"], req["body"])
    tampered = req["body"].replace(b"ticket.routed", b"ticket.updated")
    assert not webhooks.verify(secret, req["headers"]["Warta-Signature"], tampered)
    d = Delivery.objects.get(webhook=hook)
    assert d.state == "delivered" and d.last_status == 204 and d.tries.get().status == 204


def test_a_replayed_request_is_refused_by_the_timestamp(receiver: Receiver, units: dict[str, Any]) -> None:
    from warta.api import webhooks

    hook, secret = make_hook(units["bpbd"], receiver.url)
    webhooks.send_test(hook, None)
    webhooks.deliver_due()
    req = receiver.requests[0]
    header = req["headers"]["Warta-Signature"]
    t = int(header.split(",")[0][2:])
    assert webhooks.verify(secret, header, req["body"], now=t + 60)
    assert not webhooks.verify(secret, header, req["body"], now=t + 301)  # replayed six minutes later


def test_failures_are_retried_with_exponential_backoff_for_24_hours(receiver: Receiver, units: dict[str, Any]) -> None:
    from warta.api import webhooks
    from warta.api.models import Delivery

    receiver.status = 503
    hook, _secret = make_hook(units["bpbd"], receiver.url)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        webhooks.send_test(hook, None)
        webhooks.deliver_due()
    d = Delivery.objects.get()
    gaps = []
    t = start
    while d.state == "pending":
        gaps.append((d.next_attempt_at - t).total_seconds())
        t = d.next_attempt_at
        with time_machine.travel(t, tick=False):
            assert webhooks.deliver_due(now=t)["delivered"] == 0
        d.refresh_from_db()
    assert gaps[:4] == [30, 60, 120, 240] and max(gaps) == 3600
    assert d.state == "failed" and d.last_status == 503 and t - start >= timedelta(hours=24)
    assert t - start < timedelta(hours=25) and d.tries.count() == d.attempts == len(receiver.requests)


def test_a_receiver_that_recovers_gets_the_same_event_id(receiver: Receiver, units: dict[str, Any]) -> None:
    from warta.api import webhooks
    from warta.api.models import Delivery

    receiver.status = 500
    hook, _s = make_hook(units["bpbd"], receiver.url)
    webhooks.send_test(hook, None)
    webhooks.deliver_due()
    receiver.status = 200
    later = timezone.now() + timedelta(seconds=31)
    assert webhooks.deliver_due(now=later)["delivered"] == 1
    ids = [r["headers"]["Warta-Delivery"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1] and Delivery.objects.get().state == "delivered"


def test_no_answer_is_a_failure_that_is_retried(units: dict[str, Any]) -> None:
    import socket

    from warta.api import webhooks

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    hook, _s = make_hook(units["bpbd"], f"http://127.0.0.1:{port}/hook")
    webhooks.send_test(hook, None)
    assert webhooks.deliver_due()["retry"] == 1
    d = hook.deliveries.get()
    assert d.last_status is None and "Connection refused" in d.last_error or "URLError" in d.last_error


def test_rotation_signs_with_both_secrets_during_the_overlap(receiver: Receiver, units: dict[str, Any]) -> None:
    from warta.api import webhooks

    hook, old = make_hook(units["bpbd"], receiver.url)
    new = webhooks.rotate(hook, None, overlap=timedelta(hours=1))
    hook.refresh_from_db()
    webhooks.send_test(hook, None)
    webhooks.deliver_due()
    req = receiver.requests[-1]
    assert webhooks.verify(new, req["headers"]["Warta-Signature"], req["body"])
    assert webhooks.verify(old, req["headers"]["Warta-Signature"], req["body"])
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        webhooks.send_test(hook, None)
        webhooks.deliver_due()
        req = receiver.requests[-1]
        assert webhooks.verify(new, req["headers"]["Warta-Signature"], req["body"], now=None)
    assert not webhooks.verify(old, req["headers"]["Warta-Signature"], req["body"],
                               now=int(req["headers"]["Warta-Signature"].split(",")[0][2:]))


def test_blast_completed_goes_to_the_unit_whose_materi_it_was(receiver: Receiver, units: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_materi, create_sender
    from tests.conftest import create_user
    from warta.api import webhooks
    from warta.blasts.models import Blast, Draft
    from warta.blasts.signals import blast_finished

    hook, _s = make_hook(units["bpbd"], receiver.url, ["blast.completed"])
    liaison = create_user("liaison", units["bpbd"])
    operator = create_user("operator", units["kominfo"])
    m = create_materi(liaison)
    blast = Blast.objects.create(name="uji", sender=create_sender("GubDKI"), text="x", state="done",
                                 finished_at=timezone.now())
    Draft.objects.create(materi=m, sender=blast.sender, author=operator, title="t", text="x", state="released",
                         blast=blast)
    blast_finished.send(sender=Blast, blast=blast)
    webhooks.deliver_due()
    body = json.loads(receiver.requests[0]["body"])
    assert body["type"] == "blast.completed" and body["data"]["blast"]["id"] == blast.pk


def test_a_hook_that_did_not_ask_for_an_event_does_not_get_it(receiver: Receiver, actors: dict[str, Any],
                                                               units: dict[str, Any],
                                                               django_capture_on_commit_callbacks: Any) -> None:
    from tests.api.test_inbox import routed
    from warta.api.models import Delivery

    make_hook(units["bpbd"], receiver.url, ["blast.completed"])
    with django_capture_on_commit_callbacks(execute=True):
        routed(actors, units["bpbd"])
    assert not Delivery.objects.exists()


def test_a_sub_units_ticket_reaches_the_parent_units_hook(actors: dict[str, Any], units: dict[str, Any],
                                                          receiver: Receiver,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    from tests.api.test_inbox import routed
    from warta.api.models import Delivery

    make_hook(units["bpbd"], receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        routed(actors, units["pusdatin"])
    assert Delivery.objects.get().payload["data"]["ticket"]["unit"] == "pusdatin"




def test_the_scheduler_wakes_the_worker_only_when_a_delivery_is_due(units: dict[str, Any]) -> None:
    from django_tasks_db.models import DBTaskResult

    from warta.api import webhooks
    from warta.core.scheduler import _webhooks_due

    assert _webhooks_due() == "idle"
    hook, _s = make_hook(units["bpbd"], "http://127.0.0.1:9/x")
    webhooks.send_test(hook, None)
    DBTaskResult.objects.all().delete()  # the test event's own wake-up, to see the scheduler's
    assert _webhooks_due() == "enqueued"
    assert DBTaskResult.objects.count() == 1
    assert "deliver_webhooks" in DBTaskResult.objects.get().task_path
    # a job already waiting is not doubled, however many events come in meanwhile
    for _ in range(5):
        webhooks.wake_worker()
    assert _webhooks_due() == "already queued" and DBTaskResult.objects.count() == 1


def test_private_receivers_can_be_refused(receiver: Receiver, units: dict[str, Any], settings: Any) -> None:
    from warta.api import webhooks

    settings.WARTA = {**settings.WARTA, "WEBHOOK_ALLOW_PRIVATE": False}
    hook, _s = make_hook(units["bpbd"], receiver.url)
    webhooks.send_test(hook, None)
    webhooks.deliver_due()
    d = hook.deliveries.get()
    assert not receiver.requests and d.state == "pending" and "privat" in d.last_error


def test_housekeeping_removes_old_deliveries_and_expired_idempotency_keys(units: dict[str, Any]) -> None:
    from tests.api.test_api import issue
    from warta.api import webhooks
    from warta.api.models import Delivery, IdempotencyKey

    hook, _s = make_hook(units["bpbd"], "http://127.0.0.1:9/x")
    old = webhooks.send_test(hook, None)
    Delivery.objects.filter(pk=old.pk).update(state="delivered", created_at=timezone.now() - timedelta(days=91))
    pending = webhooks.send_test(hook, None)
    token, _v = issue(units["bpbd"])
    IdempotencyKey.objects.create(token=token, key="a", request_hash="x", status=201,
                                  created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.create(token=token, key="b", request_hash="x", status=201)
    assert webhooks.purge() == {"deliveries": 1, "idempotency_keys": 1}
    assert list(Delivery.objects.values_list("pk", flat=True)) == [pending.pk]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["b"]
