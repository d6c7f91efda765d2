"""Background work of webhooks, as Celery tasks (enqueued by `common.background.enqueue` after commit).

Each task only calls a service in `webhooks.delivery`; each says why running it twice is harmless. An
endpoint's non-2xx answer is not a task error: it is logged as an attempt and retried on the webhook schedule
(WEBHOOK_RETRY_SCHEDULE, about 3 days), not Celery's.
"""

from common.background import background_task


@background_task("webhooks.deliveries_send")
def deliveries_send(endpoint_id: int, account_id: int) -> int:
    """Send an account's due webhook deliveries to one endpoint, oldest first, stopping at the first failure.

    Harmless twice: each delivery is re-read under a row lock and sent only while pending and due, and marked
    succeeded in the same transaction, so a succeeded delivery is never sent again.
    """
    from webhooks.delivery import deliveries_send as send

    return send(endpoint_id=endpoint_id, account_id=account_id)


@background_task("webhooks.deliveries_requeue_due")
def deliveries_requeue_due() -> int:
    """Queue a run for every endpoint and account with a delivery due now (Celery beat, every minute).

    Harmless twice: it only queues `deliveries_send`, which is harmless twice.
    """
    from webhooks.delivery import deliveries_requeue_due as requeue

    return requeue()


@background_task("webhooks.endpoint_disabled_email")
def endpoint_disabled_email(endpoint_id: int) -> int:
    """Email the vendor that an endpoint was disabled after failing WEBHOOK_DISABLE_AFTER times in a row.

    Harmless twice in practice: enqueued only by the transaction that disabled the endpoint, once.
    """
    from webhooks.delivery import endpoint_disabled_email as email

    return email(endpoint_id=endpoint_id)
