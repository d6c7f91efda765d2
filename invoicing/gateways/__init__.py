"""The payment gateway seam: collect an invoice, refund a payment, describe how to pay (SPEC §2.5, issue 8).

Each account pays through one gateway (`Account.payment_gateway`): bank transfer, the
default, needs nothing external; Stripe cards work only when both Stripe keys are set.
The rest of Prorata asks only `gateway_for(account)` and the four methods of `Gateway`.
"""

import logging
from typing import Protocol

from django.conf import settings
from moneyed import Money

from common.background import enqueue
from common.dryrun import is_dry_run

logger = logging.getLogger(__name__)


class Gateway(Protocol):
    code: str

    def collect(self, invoice, *, on=None) -> None:
        """Try to get `invoice` paid without asking anyone (a card charge); bank transfer waits."""

    def refund(self, payment, amount: Money, *, reference: str) -> str:
        """Send `amount` of `payment` back; returns the gateway's refund id ("" when staff do it by hand)."""

    def describe(self, account) -> str:
        """How this account pays, in a sentence for the invoice and the settings page."""

    def has_payment_method(self, account) -> bool:
        """Whether the account can pay a renewal without being asked."""


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY)


def gateway_for(account) -> Gateway:
    """The account's gateway; Stripe falls back to bank transfer while Stripe is not configured."""
    from invoicing.gateways.bank_transfer import BankTransferGateway
    from invoicing.gateways.stripe import StripeGateway

    code = account.payment_gateway or settings.DEFAULT_PAYMENT_GATEWAY
    if code == StripeGateway.code and stripe_enabled():
        return StripeGateway()
    return BankTransferGateway()


def has_payment_method(account) -> bool:
    """Whether the account can pay a renewal without being asked (a card on file for Stripe).

    While Stripe is not configured, card accounts are invoiced for bank transfer, which always can.
    """
    return gateway_for(account).has_payment_method(account)


def invoice_collect(*, invoice_id: int, on=None) -> None:
    """Run after the invoice's transaction commits: a rolled-back invoice is never charged (STYLE §6).

    `on`: the day of the attempt (default: the day the invoice was issued). Nothing in a dry run.
    """
    from invoicing.models import Invoice

    if is_dry_run():
        return
    invoice = Invoice.objects.select_related("account").get(pk=invoice_id)
    if invoice.status != Invoice.Status.OPEN:
        return
    try:
        gateway_for(invoice.account).collect(invoice, on=on)
    except Exception:
        # The invoice stays open; the daily run retries and dunning follows. Never undo the issue.
        logger.exception("Collecting %s failed", invoice.number)


def invoices_collect(*, invoice_ids: list[int]) -> None:
    """`invoice_collect` of each invoice, in order; a failure is logged there and stops none of the others."""
    for invoice_id in invoice_ids:
        invoice_collect(invoice_id=invoice_id)


def collect_on_commit(invoice) -> None:
    from invoicing import tasks

    enqueue(tasks.invoice_collect, invoice.pk)


def collect_many_on_commit(invoices: list) -> None:
    """`collect_on_commit` for many invoices as one message (a lone invoice as `collect_on_commit` sends it)."""
    from invoicing import tasks

    if len(invoices) == 1:
        collect_on_commit(invoices[0])
    elif invoices:
        enqueue(tasks.invoice_collect_many, [inv.pk for inv in invoices])


def refund_send(*, refund_id: int, quiet: bool = True) -> None:
    """Send a recorded refund through the gateway of the payment it returns; keep the gateway's id.

    A failure is logged (raised when not `quiet`, for the task to retry); nothing in a dry run.
    """
    from invoicing.models import Payment, Refund

    if is_dry_run():
        return
    refund = Refund.objects.select_related("payment", "invoice__account").get(pk=refund_id)
    if refund.payment is None or refund.gateway_id:
        return
    if refund.payment.method == Payment.Method.CARD and refund.payment.gateway_id:
        from invoicing.gateways.stripe import StripeGateway

        gateway = StripeGateway()
    else:
        from invoicing.gateways.bank_transfer import BankTransferGateway

        gateway = BankTransferGateway()
    try:
        gateway_id = gateway.refund(refund.payment, refund.amount, reference=str(refund.pk))
    except Exception:
        if not quiet:
            raise
        logger.exception("Refund %s of %s could not be sent", refund.pk, refund.invoice.number)
        return
    if gateway_id:
        Refund.objects.filter(pk=refund.pk, gateway_id="").update(gateway_id=gateway_id)


def refund_on_commit(refund) -> None:
    from invoicing import tasks

    enqueue(tasks.refund_send, refund.pk)
