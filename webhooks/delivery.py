"""Sending events to endpoints (issue 20): one delivery per event and endpoint, tried until a 2xx answer.

A delivery is written in the transaction that records its event and its sending is enqueued at commit, so a
rolled-back change sends nothing. An account's deliveries to an endpoint go oldest first: a run sends them in
order and stops at the first failure, which waits for its retry (WEBHOOK_RETRY_SCHEDULE) with the later ones
behind it. Every attempt carries the event's `event_id` as `webhook-id`, so a receiver can drop a repeat.
"""

import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from http.client import HTTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.background import enqueue, enqueue_later
from webhooks import signing
from webhooks.models import Attempt, Delivery, WebhookEndpoint

EXCERPT = 500  # characters of the receiver's answer kept on an attempt


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is not a delivery: the endpoint's URL must be where events land


_opener = urllib.request.build_opener(_NoRedirects)


def _send_soon(endpoint_id: int, account_id: int) -> None:
    from webhooks import tasks

    enqueue(tasks.deliveries_send, endpoint_id, account_id)


def _send_pairs(deliveries) -> int:
    """Enqueue one run per (endpoint, account) among `deliveries`, however many events each has."""
    pairs = dict.fromkeys((d.endpoint_id, d.account_id) for d in deliveries)
    for endpoint_id, account_id in pairs:
        _send_soon(endpoint_id, account_id)
    return len(pairs)


def deliveries_create(events: list) -> list[Delivery]:
    """A pending delivery of each event (an `Event`, or what `events_record` wrote) to each enabled
    endpoint that wants its type, sent after commit."""
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    rows = [
        Delivery(event_id=event.pk, endpoint=endpoint, account_id=event.account_id, next_attempt_at=event.created_at)
        for event in events
        for endpoint in endpoints
        if endpoint.wants(event.type)
    ]
    if rows:
        Delivery.objects.bulk_create(rows)
        _send_pairs(rows)
    return rows


def deliveries_send(*, endpoint_id: int, account_id: int) -> int:
    """Send an account's due deliveries to an endpoint, oldest event first; stop at the first failed attempt
    or at one not yet due, so the endpoint sees the account's events in order. Returns how many succeeded.

    Each delivery is re-read under a row lock and sent only while it is pending and due: a succeeded one is
    never sent again, so a second run (or two at once) sends nothing twice.
    """
    sent = 0
    while True:
        with transaction.atomic():
            head = (
                Delivery.objects.select_for_update(of=("self",))
                .select_related("event", "endpoint")
                .filter(endpoint_id=endpoint_id, account_id=account_id, status=Delivery.Status.PENDING)
                .order_by("event_id")
                .first()
            )
            if head is None or not head.endpoint.enabled or head.next_attempt_at > timezone.now():
                return sent
            if delivery_attempt(head):
                sent += 1
            elif head.status == Delivery.Status.PENDING:
                return sent  # waits for its retry; a delivery given up as failed no longer holds the next back


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str]:
    """(status code, start of the answer, error) of one POST; a timeout or refused connection is an error."""
    if not url.startswith(("https://", "http://")):
        return None, "", "Not an http(s) address."
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={**headers, "Content-Type": "application/json", "User-Agent": "Prorata-Webhooks/1"},
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as answer:
            return answer.status, _excerpt(answer), ""
    except urllib.error.HTTPError as answer:
        return answer.code, _excerpt(answer), ""
    except (OSError, HTTPException) as error:
        return None, "", f"{type(error).__name__}: {error}"[:2000]


def _excerpt(answer) -> str:
    try:
        return answer.read(EXCERPT * 4).decode("utf-8", "replace")[:EXCERPT]
    except (OSError, HTTPException):
        return ""


def delivery_attempt(delivery: Delivery) -> bool:
    """POST the delivery's event once (signed now, same `webhook-id` as ever), log the attempt, and move the
    delivery on: succeeded on a 2xx; otherwise due again after the next wait of the schedule, or failed once
    the schedule is spent. Call it inside a transaction holding the delivery's row lock."""
    event, endpoint = delivery.event, delivery.endpoint
    body = signing.event_body(
        event_type=event.type, created_at=event.created_at, account_id=event.account_id, payload=event.payload
    )
    at = timezone.now()
    headers = signing.sign(secret=endpoint.secret, msg_id=str(event.event_id), body=body, at=at)
    started = time.monotonic()
    status_code, excerpt, error = _post(endpoint.url, body, headers)
    latency_ms = round((time.monotonic() - started) * 1000)
    attempt = Attempt.objects.create(
        delivery=delivery, at=at, status_code=status_code, latency_ms=latency_ms, response=excerpt, error=error
    )
    delivery.attempt_count += 1
    if attempt.succeeded:
        delivery.status, delivery.next_attempt_at = Delivery.Status.SUCCEEDED, None
        if endpoint.failures_in_a_row:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures_in_a_row=0)
    else:
        _failed(delivery, at)
    delivery.save(update_fields=["status", "attempt_count", "next_attempt_at"])
    return attempt.succeeded


def _failed(delivery: Delivery, at: datetime) -> None:
    from webhooks import tasks

    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if delivery.attempt_count > len(schedule):
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        wait = schedule[delivery.attempt_count - 1]
        delivery.next_attempt_at = at + timedelta(seconds=wait)
        enqueue_later(tasks.deliveries_send, delivery.endpoint_id, delivery.account_id, seconds=wait)
    _endpoint_failed(delivery.endpoint_id)


def _endpoint_failed(endpoint_id: int) -> None:
    """Count a failed attempt; at WEBHOOK_DISABLE_AFTER in a row the endpoint is disabled and the vendor told."""
    from webhooks import tasks

    WebhookEndpoint.objects.filter(pk=endpoint_id).update(failures_in_a_row=F("failures_in_a_row") + 1)
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, enabled=True, failures_in_a_row__gte=settings.WEBHOOK_DISABLE_AFTER
    ).update(enabled=False)
    if disabled:
        enqueue(tasks.endpoint_disabled_email, endpoint_id)


def endpoint_disabled_email(*, endpoint_id: int) -> int:
    """Tell the vendor (WEBHOOK_ALERT_EMAIL, else the ADMINS) that an endpoint was disabled; how many were told."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    to = [settings.WEBHOOK_ALERT_EMAIL] if settings.WEBHOOK_ALERT_EMAIL else [a[1] for a in settings.ADMINS]
    if not to:
        return 0
    body = (
        f"Prorata stopped sending webhooks to {endpoint.url}: its last {endpoint.failures_in_a_row} attempts "
        "failed. Events keep being recorded. Fix the endpoint, enable it again in the support admin, and use "
        "“Replay all failed” to send what it missed."
    )
    return send_mail(f"Webhook endpoint disabled: {endpoint.url}", body, None, to)


def deliveries_replay(deliveries) -> int:
    """Send the chosen deliveries again, through the same queue and with the same `webhook-id`: each is back to
    pending, due now, with a fresh retry schedule. Deliveries to a disabled endpoint are left alone."""
    chosen = deliveries.filter(endpoint__enabled=True)
    rows = list(chosen.select_related(None).only("id", "endpoint_id", "account_id").order_by("event_id"))
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        status=Delivery.Status.PENDING, attempt_count=0, next_attempt_at=timezone.now()
    )
    _send_pairs(rows)
    return len(rows)


def events_replay(events) -> int:
    """Send the chosen events again to every enabled endpoint that wants them (same `webhook-id`); an endpoint
    added since an event was recorded gets it for the first time."""
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, account_id=event.account_id)
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.type)
        ],
        ignore_conflicts=True,
    )
    return deliveries_replay(Delivery.objects.filter(event__in=events))


def endpoint_replay_failed(endpoint: WebhookEndpoint) -> int:
    return deliveries_replay(endpoint.deliveries.filter(status=Delivery.Status.FAILED))


def deliveries_requeue_due(*, accounts=None) -> int:
    """The sweep: one run per (endpoint, account) with a pending delivery now due; how many runs were queued."""
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now(), endpoint__enabled=True
    )
    if accounts is not None:
        due = due.filter(account__in=accounts)
    pairs = list(due.order_by().values_list("endpoint_id", "account_id").distinct())
    for endpoint_id, account_id in pairs:
        _send_soon(endpoint_id, account_id)
    return len(pairs)
