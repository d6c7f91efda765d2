"""Card payments through Stripe: the card on file, off-session charges, retries, webhook events (SPEC §2.5, issue 8).

Stripe is called outside database transactions (a slow or failed call never holds a
lock or rolls back an issued invoice), and every POST carries an idempotency key, so a
resend after a crash or a timeout returns the first answer instead of charging again.
Both the synchronous answer and the webhook settle a charge; whichever comes second
finds it settled (a Payment carries the PaymentIntent id) and changes nothing.
"""

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from moneyed import Money

from accounts.models import Account, Membership
from accounts.services import history_record
from common.background import enqueue
from common.clock import today
from common.dryrun import is_dry_run
from common.errors import Refused
from invoicing.models import CardCharge, CreditEntry, Invoice, Payment, Refund, StripeCustomer
from invoicing.selectors import invoice_outstanding
from invoicing.stripe_client import field, from_minor, object_id, stripe_client, to_minor

logger = logging.getLogger(__name__)

# Days after issue on which the daily run charges a failed card again, before dunning locks (issue 8).
RETRY_DAYS = (1, 3, 5)


# ---------------------------------------------------------------- the card on file


def stripe_customer_ensure(*, account: Account) -> StripeCustomer:
    """The account's Stripe customer, created once (the idempotency key covers a crash in between)."""
    existing = StripeCustomer.objects.filter(account=account).first()
    if existing is not None:
        return existing
    customer = stripe_client().v1.customers.create(
        params={
            "name": account.legal_name or account.name,
            "email": account.billing_email or _billing_contact(account),
            "metadata": {"prorata_account": str(account.pk)},
        },
        options={"idempotency_key": f"prorata-customer-{account.pk}"},
    )
    obj, _ = StripeCustomer.objects.get_or_create(account=account, defaults={"stripe_id": customer.id})
    djstripe_mirror(model="Customer", stripe_object=customer)
    return obj


def payment_method_setup_start(*, account: Account) -> str:
    """A SetupIntent for an off-session card; returns the client secret Stripe Elements confirms."""
    customer = stripe_customer_ensure(account=account)
    intent = stripe_client().v1.setup_intents.create(
        params={"customer": customer.stripe_id, "usage": "off_session", "payment_method_types": ["card"]}
    )
    return intent.client_secret


def payment_method_save(*, account: Account, setup_intent_id: str, on: date | None = None) -> StripeCustomer:
    """After Elements confirmed the SetupIntent: make its card the default, drop the old one, pay by card.

    Invoices still open are charged to the new card at once, so a locked account opens as soon as it pays.
    """
    customer = stripe_customer_ensure(account=account)
    client = stripe_client()
    intent = client.v1.setup_intents.retrieve(setup_intent_id)
    if field(intent, "customer") != customer.stripe_id:
        raise Refused(gettext("This card setup belongs to another customer."), code="foreign_setup")
    if field(intent, "status") != "succeeded":
        raise Refused(gettext("The card was not confirmed. Please try again."), code="setup_incomplete")
    pm_id = object_id(field(intent, "payment_method"))
    pm = client.v1.payment_methods.retrieve(pm_id)
    if field(pm, "customer") != customer.stripe_id:
        pm = client.v1.payment_methods.attach(pm_id, params={"customer": customer.stripe_id})
    stripe_customer = client.v1.customers.update(
        customer.stripe_id, params={"invoice_settings": {"default_payment_method": pm_id}}
    )
    old = customer.payment_method_id
    if old and old != pm_id:
        _detach_quietly(client, old)
    card = field(pm, "card", {})
    with transaction.atomic():
        customer.payment_method_id = pm_id
        customer.card_brand = field(card, "brand", "")
        customer.card_last4 = field(card, "last4", "")
        customer.card_exp_month = field(card, "exp_month")
        customer.card_exp_year = field(card, "exp_year")
        customer.save()
        Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)
        account.payment_gateway = Account.Gateway.STRIPE
        history_record(instance=account, reason=f"Pays by card ending {customer.card_last4}")
    djstripe_mirror(model="Customer", stripe_object=stripe_customer)
    djstripe_mirror(model="PaymentMethod", stripe_object=pm)
    on = on or today(account)
    for invoice in Invoice.objects.filter(account=account, status=Invoice.Status.OPEN).order_by("issued_on", "id"):
        invoice_charge(invoice=invoice, on=on)
    return customer


def payment_method_remove(*, account: Account) -> None:
    """Remove the card; the account goes back to paying by bank transfer."""
    customer = StripeCustomer.objects.filter(account=account).first()
    if customer is not None and customer.payment_method_id:
        _detach_quietly(stripe_client(), customer.payment_method_id)
        StripeCustomer.objects.filter(pk=customer.pk).update(
            payment_method_id="", card_brand="", card_last4="", card_exp_month=None, card_exp_year=None
        )
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.BANK_TRANSFER)
    account.payment_gateway = Account.Gateway.BANK_TRANSFER
    history_record(instance=account, reason="Card removed; pays by bank transfer")


def payment_gateway_choose(*, account: Account, gateway: str) -> None:
    """Pay by bank transfer or by the saved card (issue 17); the card stays on file either way.

    Choosing the card needs one saved; choosing it does not charge anything by itself (open
    invoices can be paid from Settings › Invoices, renewals are charged when issued).
    """
    if gateway not in (Account.Gateway.BANK_TRANSFER, Account.Gateway.STRIPE):
        raise Refused(gettext("Choose bank transfer or card."), field="gateway", code="unknown_gateway")
    if gateway == Account.Gateway.STRIPE:
        customer = StripeCustomer.objects.filter(account=account).exclude(payment_method_id="").first()
        if customer is None:
            raise Refused(gettext("Add a card first."), code="no_card")
        reason = f"Pays by card ending {customer.card_last4}"
    else:
        reason = "Pays by bank transfer (card kept on file)"
    if account.payment_gateway == gateway:
        return
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(payment_gateway=gateway)
        account.payment_gateway = gateway
        history_record(instance=account, reason=reason)


def invoice_pay_by_card(*, invoice: Invoice, on: date) -> CardCharge:
    """The customer's "Pay now" on an open invoice: charge the saved card for what is left (issue 17).

    The same attempt rules as automatic charges (`invoice_charge`): never two live attempts.
    """
    if invoice.status != Invoice.Status.OPEN or invoice_outstanding(invoice).amount <= 0:
        raise Refused(gettext("%(number)s has nothing left to pay.") % {"number": invoice.number}, code="nothing_due")
    if not StripeCustomer.objects.filter(account_id=invoice.account_id).exclude(payment_method_id="").exists():
        raise Refused(gettext("Add a card first."), code="no_card")
    if invoice.card_charges.filter(status=CardCharge.Status.PENDING).exists():
        raise Refused(
            gettext("A card payment of %(number)s is already on its way.") % {"number": invoice.number},
            code="charge_pending",
        )
    charge = invoice_charge(invoice=invoice, on=on)
    if charge is None:
        raise Refused(gettext("%(number)s could not be charged now.") % {"number": invoice.number}, code="not_charged")
    return charge


def djstripe_mirror(*, model: str, stripe_object) -> None:
    """Copy a Stripe object Prorata just received into dj-stripe's table of that name (issue 8).

    A read-only mirror for the admin: Prorata's own StripeCustomer stays the account's link and
    card cache, so a mirror that fails is logged and never undoes a card setup Stripe accepted.
    """
    from djstripe import models as djstripe_models

    data = stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else stripe_object
    try:
        getattr(djstripe_models, model).sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
    except Exception:
        logger.exception("Could not mirror Stripe %s %s into dj-stripe", model, field(data, "id", ""))


def _detach_quietly(client, pm_id: str) -> None:
    try:
        detached = client.v1.payment_methods.detach(pm_id)
    except stripe.StripeError:
        logger.warning("Could not detach payment method %s", pm_id)
    else:
        djstripe_mirror(model="PaymentMethod", stripe_object=detached)


# ---------------------------------------------------------------- charging an invoice


def invoice_charge(*, invoice: Invoice, on: date) -> CardCharge | None:
    """An off-session PaymentIntent for what is still due on `invoice` (SPEC §2.5).

    Never two live attempts: a pending or succeeded attempt stops a new one, and each
    attempt's idempotency key (`prorata-<invoice number>-<attempt>`) makes a resend of
    the same attempt return the same PaymentIntent. Nothing in a dry run.
    """
    if is_dry_run():
        return None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)
        outstanding = invoice_outstanding(invoice)
        if invoice.status != Invoice.Status.OPEN or outstanding.amount <= 0:
            return None
        customer = StripeCustomer.objects.filter(account=invoice.account).exclude(payment_method_id="").first()
        if customer is None:
            return None
        live = invoice.card_charges.filter(status__in=[CardCharge.Status.PENDING, CardCharge.Status.SUCCEEDED])
        if live.exists():
            return None
        attempt = invoice.card_charges.count() + 1
        charge = CardCharge.objects.create(
            invoice=invoice,
            attempt=attempt,
            idempotency_key=f"prorata-{invoice.number}-{attempt}",
            amount=outstanding,
            attempted_on=on,
        )
    _charge_send(charge, customer)
    charge.refresh_from_db()
    return charge


def card_charge_request(*, charge: CardCharge, customer: StripeCustomer):
    """Send one attempt: a confirmed off-session PaymentIntent under the attempt's idempotency key."""
    invoice = charge.invoice
    return stripe_client().v1.payment_intents.create(
        params={
            "amount": to_minor(charge.amount),
            "currency": invoice.currency.lower(),
            "customer": customer.stripe_id,
            "payment_method": customer.payment_method_id,
            "off_session": True,
            "confirm": True,
            "metadata": {"prorata_invoice": invoice.number, "prorata_charge": charge.idempotency_key},
        },
        options={"idempotency_key": charge.idempotency_key},
    )


def _charge_send(charge: CardCharge, customer: StripeCustomer) -> None:
    invoice = charge.invoice
    try:
        intent = card_charge_request(charge=charge, customer=customer)
    except stripe.CardError as e:
        intent = getattr(e.error, "payment_intent", None)
        message = e.user_message or "The card was declined."
        card_charge_failed(charge=charge, payment_intent_id=object_id(intent), message=message)
        return
    except stripe.StripeError:
        # Left pending: the daily run resends with the same key, which cannot charge twice.
        logger.exception("Charging %s (attempt %s) did not get an answer", invoice.number, charge.attempt)
        return
    _settle(charge, intent)


def _settle(charge: CardCharge, intent) -> None:
    status = field(intent, "status")
    if status == "succeeded":
        card_charge_succeeded(
            charge=charge,
            payment_intent_id=intent.id,
            amount=from_minor(field(intent, "amount"), field(intent, "currency")),
            on=charge.attempted_on,
        )
    elif status == "requires_payment_method":
        error = field(intent, "last_payment_error", {})
        card_charge_failed(
            charge=charge, payment_intent_id=intent.id, message=field(error, "message", "The card was declined.")
        )
    else:  # processing: the webhook (or the next daily run) settles it
        CardCharge.objects.filter(pk=charge.pk).update(payment_intent_id=intent.id)


@transaction.atomic
def card_charge_succeeded(*, charge: CardCharge, payment_intent_id: str, amount, on: date) -> Payment | None:
    """The card paid: record the payment once; paid in full unlocks the account (SPEC §2.5)."""
    from invoicing.services import invoice_pay

    charge = CardCharge.objects.select_for_update().select_related("invoice").get(pk=charge.pk)
    charge.status = CardCharge.Status.SUCCEEDED
    charge.payment_intent_id = payment_intent_id
    charge.failure_message = ""
    charge.save(update_fields=["status", "payment_intent_id", "failure_message"])
    if Payment.objects.filter(gateway_id=payment_intent_id).exists():
        return None
    invoice = Invoice.objects.select_for_update().get(pk=charge.invoice_id)
    if invoice.status != Invoice.Status.OPEN:
        # Settled another way meanwhile (e.g. a transfer recorded by staff): the money is the customer's credit.
        CreditEntry.objects.create(
            account_id=invoice.account_id,
            amount=amount,
            on=on,
            memo=f"Card payment after {invoice.number} was settled",
            invoice=invoice,
        )
        return None
    return invoice_pay(
        invoice=invoice,
        on=on,
        amount=amount,
        method=Payment.Method.CARD,
        reference=f"Card charge, attempt {charge.attempt}",
        gateway_id=payment_intent_id,
    )


def card_charge_failed(*, charge: CardCharge, payment_intent_id: str, message: str) -> CardCharge:
    """The card was declined: record why and email the billing contact once; dunning runs as usual."""
    with transaction.atomic():
        charge = CardCharge.objects.select_for_update().select_related("invoice__account").get(pk=charge.pk)
        if charge.status == CardCharge.Status.SUCCEEDED:
            return charge
        charge.status = CardCharge.Status.FAILED
        charge.payment_intent_id = payment_intent_id or charge.payment_intent_id
        charge.failure_message = message[:300]
        notify = charge.failure_emailed_at is None
        if notify:
            charge.failure_emailed_at = timezone.now()
        charge.save()
        if notify:
            from invoicing import tasks

            enqueue(tasks.card_failure_email, charge.pk)
    return charge


def _billing_contact(account: Account) -> str:
    if account.billing_email:
        return account.billing_email
    owner = account.memberships.filter(role=Membership.Role.OWNER).first()
    return owner.email if owner else ""


def card_failure_email(*, charge_id: int) -> None:
    """Tell the billing contact that a card charge failed (the `card_failure_email` task)."""
    charge = CardCharge.objects.select_related("invoice__account").get(pk=charge_id)
    invoice = charge.invoice
    to = _billing_contact(invoice.account)
    if not to:
        return
    send_mail(
        subject=f"Payment of {invoice.number} failed",
        message=(
            f"We could not charge your card for invoice {invoice.number} ({charge.amount}): "
            f"{charge.failure_message}\n\n"
            "We will try again in a few days. To avoid interruption, update your card under "
            "Settings › Subscription › Payment method."
        ),
        from_email=None,
        recipient_list=[to],
    )


# ---------------------------------------------------------------- the daily run


def card_charges_retry(*, on: date, accounts=None) -> dict:
    """Daily: a new charge of failed cards on days 1, 3 and 5 after issue (the daily run's sweep,
    `card_work_requeue`, resends attempts left pending; their keys make every resend harmless).

    Charges go out as tasks after commit; in a dry run (a preview) nothing is queued.
    """
    from invoicing import tasks
    from invoicing.gateways import stripe_enabled

    counts = {"retried": 0}
    if not stripe_enabled() or is_dry_run():
        return counts
    for invoice in _open_card_invoices(accounts):
        if (on - invoice.issued_on).days not in RETRY_DAYS:
            continue
        if invoice.card_charges.filter(Q(attempted_on=on) | Q(status=CardCharge.Status.PENDING)).exists():
            continue
        enqueue(tasks.invoice_collect, invoice.pk, on.isoformat())
        counts["retried"] += 1
    return counts


def card_work_requeue(*, accounts=None) -> dict:
    """The safety sweep's part for cards: queue again every attempt still pending (no answer read) and
    every card refund that never reached Stripe. Their idempotency keys make a resend harmless."""
    from invoicing import tasks
    from invoicing.gateways import stripe_enabled

    counts = {"resent": 0, "refunds": 0}
    if not stripe_enabled() or is_dry_run():
        return counts
    unsent = Refund.objects.filter(gateway_id="", payment__method=Payment.Method.CARD).exclude(payment__gateway_id="")
    if accounts is not None:
        unsent = unsent.filter(invoice__account__in=accounts)
    for refund_id in unsent.values_list("pk", flat=True):
        enqueue(tasks.refund_send, refund_id)
        counts["refunds"] += 1
    pending = CardCharge.objects.filter(status=CardCharge.Status.PENDING, invoice__in=_open_card_invoices(accounts))
    for charge_id in pending.values_list("pk", flat=True):
        enqueue(tasks.card_charge_resume, charge_id)
        counts["resent"] += 1
    return counts


def _open_card_invoices(accounts):
    invoices = Invoice.objects.select_related("account").filter(
        status=Invoice.Status.OPEN, account__payment_gateway=Account.Gateway.STRIPE
    )
    return invoices if accounts is None else invoices.filter(account__in=accounts)


def card_charge_resume(*, charge_id: int) -> None:
    """Resend one pending attempt under its key, or read back its PaymentIntent; a settled one is left alone."""
    charge = CardCharge.objects.select_related("invoice").get(pk=charge_id)
    if charge.status != CardCharge.Status.PENDING:
        return
    if charge.payment_intent_id:
        _settle(charge, stripe_client().v1.payment_intents.retrieve(charge.payment_intent_id))
        return
    customer = StripeCustomer.objects.filter(account_id=charge.invoice.account_id).first()
    if customer is not None and customer.payment_method_id:
        _charge_send(charge, customer)


# ---------------------------------------------------------------- refunds


def card_refund_send(*, payment: Payment, amount, reference: str) -> str:
    """Refund `amount` of a card payment through Stripe; the key makes a resend harmless."""
    refund = stripe_client().v1.refunds.create(
        params={
            "payment_intent": payment.gateway_id,
            "amount": to_minor(amount),
            "metadata": {"prorata_refund": reference, "prorata_invoice": payment.invoice.number},
        },
        options={"idempotency_key": f"prorata-refund-{reference}"},
    )
    return refund.id


# ---------------------------------------------------------------- webhook events


def stripe_event_process(*, event: dict) -> None:
    """Apply a verified webhook event (SPEC §2.5, issue 8).

    dj-stripe calls this once per event id (invoicing.webhooks), in the transaction that
    records its Event; each handler also finds its own earlier work (a Payment or Refund
    carrying Stripe's id), so even a replay changes nothing.
    """
    obj = event["data"]["object"]
    handler = _HANDLERS.get(event["type"])
    if handler is not None:
        handler(obj, on=_event_day(event, obj))


def _event_day(event: dict, obj: dict) -> date:
    created = datetime.fromtimestamp(int(event.get("created") or timezone.now().timestamp()), tz=UTC)
    charge = _charge_for(obj)
    tz = charge.invoice.account.timezone if charge else "UTC"
    return created.astimezone(ZoneInfo(tz or "UTC")).date()


def _charge_for(intent: dict) -> CardCharge | None:
    key = field(field(intent, "metadata", {}), "prorata_charge", "")
    qs = CardCharge.objects.select_related("invoice__account")
    if key:
        return qs.filter(idempotency_key=key).first()
    if str(field(intent, "id", "")).startswith("pi_"):
        return qs.filter(payment_intent_id=intent["id"]).first()
    return None


def _on_intent_succeeded(intent: dict, *, on: date) -> None:
    charge = _charge_for(intent)
    if charge is None:
        return
    amount = from_minor(field(intent, "amount_received") or intent["amount"], intent["currency"])
    card_charge_succeeded(charge=charge, payment_intent_id=intent["id"], amount=amount, on=on)


def _on_intent_failed(intent: dict, *, on: date) -> None:
    charge = _charge_for(intent)
    if charge is None:
        return
    error = field(intent, "last_payment_error", {})
    card_charge_failed(
        charge=charge, payment_intent_id=intent["id"], message=field(error, "message", "The card was declined.")
    )


def _on_charge_refunded(charge: dict, *, on: date) -> None:
    """Record refunds made in Stripe (e.g. from its dashboard) that Prorata did not send itself."""
    intent_id = object_id(field(charge, "payment_intent"))
    payment = Payment.objects.select_related("invoice").filter(gateway_id=intent_id).first() if intent_id else None
    if payment is None:
        return
    refunds = field(field(charge, "refunds", {}), "data", [])
    for r in refunds:
        if Refund.objects.filter(gateway_id=r["id"]).exists():
            continue
        ours = field(field(r, "metadata", {}), "prorata_refund", "")
        if ours and Refund.objects.filter(pk=ours, payment=payment, gateway_id="").update(gateway_id=r["id"]):
            continue
        Refund.objects.create(
            invoice=payment.invoice,
            payment=payment,
            amount=from_minor(r["amount"], r["currency"]),
            on=on,
            reason="Refunded in Stripe",
            gateway_id=r["id"],
        )
    if not refunds:  # newer API versions leave `refunds` out: reconcile on the refunded total
        recorded = sum((r.amount.amount for r in payment.refunds.all()), 0)
        missing = from_minor(charge["amount_refunded"], charge["currency"]).amount - recorded
        if missing > 0:
            Refund.objects.create(
                invoice=payment.invoice,
                payment=payment,
                amount=Money(missing, payment.amount.currency),
                on=on,
                reason="Refunded in Stripe",
                gateway_id=charge["id"],
            )


_HANDLERS = {
    "payment_intent.succeeded": _on_intent_succeeded,
    "payment_intent.payment_failed": _on_intent_failed,
    "charge.refunded": _on_charge_refunded,
}

# The events Prorata acts on; its webhook endpoint subscribes to these.
STRIPE_EVENTS = tuple(_HANDLERS)
