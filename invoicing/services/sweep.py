"""The safety sweep: background work still pending in the database is queued again.

Work is enqueued when its transaction commits; if the broker was down then, or a task gave up after
its retries, the database still says what is left: documents and receipts not emailed, card charges
with no answer read, card refunds that never reached Stripe; and, through `pending_swept`, the work of
the apps above (webhook deliveries due). The daily run sweeps its accounts;
`manage.py requeue_pending` sweeps everything. Every task is harmless twice, so sweeping work a
worker is doing right now costs nothing but a second look.
"""

from datetime import date

from common.dryrun import is_dry_run
from invoicing.services.delivery import invoice_deliver_pending
from invoicing.services.receipts import receipts_deliver_pending
from invoicing.signals import pending_swept


def pending_requeue(*, on: date | None = None, accounts=None) -> dict:
    """Queue again everything pending (for `accounts`, or all); how many of each, queued after commit.

    A dry run queues nothing, so it does not look for what is pending either.
    """
    if is_dry_run():
        return {}
    from invoicing.stripe_services import card_work_requeue

    counts = {"documents": invoice_deliver_pending(on=on, accounts=accounts)}
    if accounts is None:
        counts["receipts"] = receipts_deliver_pending()
    counts.update(card_work_requeue(accounts=accounts))
    for _receiver, more in pending_swept.send(sender=pending_requeue, on=on, accounts=accounts):
        counts.update(more)
    return counts
