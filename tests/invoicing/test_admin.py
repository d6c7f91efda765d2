"""The finance admin for invoices: read-only once issued, actions through services, permissions per group."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from invoicing.models import CreditEntry, CreditNote, Invoice, Payment, Refund
from invoicing.selectors import credit_balance
from invoicing.services import credit_grant, invoice_pay
from subscriptions import services
from tests.builders import make_account, make_plan, usd
from tests.subscriptions.test_admin import (
    NOV_1,
    action_url,
    admin_client,  # noqa: F401 (fixture)
    finance_client,  # noqa: F401 (fixture)
    on_nov_15,  # noqa: F401 (fixture)
    preview_then_confirm,
    subscribed,
    support_client,  # noqa: F401 (fixture)
)


@pytest.fixture
def invoice(db) -> Invoice:
    """Acme's open purchase invoice of Nov 1: 2 seats × $7.00 = $14.00."""
    sub = subscribed()
    return Invoice.objects.get(subscription=sub)


def test_invoice_page_is_read_only_and_links_the_pdf(admin_client, invoice, on_nov_15):  # noqa: F811
    url = reverse("admin:invoicing_invoice_change", args=[invoice.pk])
    page = admin_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/settings/invoices/{invoice.number}.pdf" in html
    assert 'name="_save"' not in html
    assert "$14.00" in html and "Pro (monthly) · 2 seats" in html
    assert "<dt>Name</dt>" in html and '"locale"' not in html  # the buyer in words, not JSON (issue 17, item 10)
    assert admin_client.post(url, {"status": "paid"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert admin_client.get(reverse("admin:invoicing_invoice_add")).status_code == 403
    assert admin_client.post(reverse("admin:invoicing_invoice_delete", args=[invoice.pk])).status_code == 403


def test_the_index_lists_prorata_not_the_stripe_mirror(admin_client, on_nov_15):  # noqa: F811
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Invoices" in html and "Webhook event triggers" in html
    assert "Payment intents" not in html and "/admin/djstripe/coupon/" not in html


def test_changelist_and_search_by_number(admin_client, invoice, on_nov_15):  # noqa: F811
    url = reverse("admin:invoicing_invoice_changelist")
    assert invoice.number in admin_client.get(url).content.decode()
    found = admin_client.get(url, {"q": invoice.number.lower()})
    assert list(found.context["cl"].result_list) == [invoice]
    by_account = admin_client.get(url, {"q": "acme"})
    assert list(by_account.context["cl"].result_list) == [invoice]
    assert list(admin_client.get(url, {"q": "INV-2026-999999"}).context["cl"].result_list) == []


def test_mark_paid_records_the_payment(finance_client, invoice, on_nov_15):  # noqa: F811
    data = {"paid_on": "2026-11-14", "method": "bank_transfer", "reference": "SEPA 123", "amount": ""}
    Account.objects.filter(pk=invoice.account_id).update(locked_on=dt.date(2026, 11, 15))
    shown, pv = preview_then_confirm(finance_client, action_url(invoice, "mark_paid"), data)
    # Issue 17, item 10: the preview said "No money moves"; it shows the payment, what it settles, the lock
    html = shown.content.decode()
    assert "No money moves" not in html and "Payments recorded" in html
    assert pv.payments[0].amount == usd("14.00") and pv.payments[0].on == dt.date(2026, 11, 14)
    (change,) = pv.changed_invoices
    assert (change.status_before, change.status_after, change.left_after) == ("open", "paid", usd("0.00"))
    assert "The account unlocks." in html
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.paid_on == dt.date(2026, 11, 14)
    payment = Payment.objects.get(invoice=invoice)
    assert payment.amount == usd("14.00") and payment.reference == "SEPA 123"
    last = invoice.history.order_by("-history_id").first()
    assert last.status == "paid" and last.history_user.email == "fay@prorata.example"
    assert last.history_change_reason == "Marked paid (bank_transfer) SEPA 123"


def test_support_cannot_void_an_invoice_and_finance_can(client, support_client, invoice, on_nov_15):  # noqa: F811
    url = action_url(invoice, "void")
    assert support_client.get(url).status_code == 403
    assert support_client.post(url, {"reason": "x", "confirm": "1"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    page = support_client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk]))
    assert url not in page.content.decode()


def test_finance_voids_an_invoice_and_gets_the_used_credit_back(finance_client, on_nov_15):  # noqa: F811
    plan = make_plan("pro")
    account = make_account("Acme", on=NOV_1)
    sub = services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV_1)
    account.refresh_from_db()
    invoice_pay(invoice=Invoice.objects.get(subscription=sub), on=NOV_1)
    credit_grant(account=account, amount=usd("2.00"), reason="goodwill", on=NOV_1)
    # Nov 1 of Nov 1–30, 29 days left: −7.00 × 29/30 = −6.77, +12.00 × 29/30 = 11.60 → 4.83, 2.00 of it from credit
    services.subscription_change_plan(subscription=sub, plan=make_plan("team", monthly="12.00"), on=NOV_1)
    inv = Invoice.objects.get(account=account, reason=Invoice.Reason.PLAN_CHANGE)
    assert inv.credit_applied == usd("2.00") and inv.amount_due == usd("2.83")
    shown, pv = preview_then_confirm(finance_client, action_url(inv, "void"), {"reason": "issued by mistake"})
    # the preview names the amount voided: 2.83 left to pay → nothing, open → void
    assert [(c.number, c.status_after, c.left_before) for c in pv.changed_invoices] == [
        (inv.number, "void", usd("2.83"))
    ]
    assert "No money moves" not in shown.content.decode()
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.VOID
    assert credit_balance(account) == usd("2.00")
    assert inv.history.order_by("-history_id").first().history_change_reason == "issued by mistake"


def test_mark_uncollectible(finance_client, invoice, on_nov_15):  # noqa: F811
    preview_then_confirm(finance_client, action_url(invoice, "uncollectible"), {"reason": "company closed"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.UNCOLLECTIBLE


def test_credit_note_for_chosen_lines_equals_the_preview(finance_client, invoice, on_nov_15):  # noqa: F811
    line = invoice.lines.get()
    shown, pv = preview_then_confirm(
        finance_client, action_url(invoice, "credit_note"), {"lines": [line.pk], "amount": "", "reason": "wrong seats"}
    )
    assert f"Taken off what is left to pay on {invoice.number}" in shown.content.decode()
    assert "Joins the credit balance" not in shown.content.decode()
    note = CreditNote.objects.get(invoice=invoice)
    assert note.total == usd("14.00") == pv.credit_notes[0].total and note.number == pv.credit_notes[0].number
    assert note.reason == CreditNote.Reason.CORRECTION and note.memo == "wrong seats"
    # The invoice was open: the 14.00 credit settles it instead of joining the credit balance (issue 17, item 4).
    assert not CreditEntry.objects.filter(credit_note=note).exists()
    invoice.refresh_from_db()
    assert invoice.amount_credited == usd("14.00") and invoice.status == Invoice.Status.PAID


def test_credit_note_for_an_amount_and_never_more_than_the_invoice(finance_client, invoice, on_nov_15):  # noqa: F811
    url = action_url(invoice, "credit_note")
    too_much = finance_client.post(url, {"amount": "20.00", "reason": "x", "preview": "1"})
    assert "At most" in too_much.content.decode()
    preview_then_confirm(finance_client, url, {"amount": "3.50", "reason": "one seat, half a month"})
    assert CreditNote.objects.get(invoice=invoice).total == usd("3.50")


def test_refund_within_the_window_and_the_finance_override(finance_client, on_nov_15):  # noqa: F811
    sub = subscribed(refund_window_days=30)
    inv = Invoice.objects.get(subscription=sub)
    invoice_pay(invoice=inv, on=NOV_1)
    _shown, pv = preview_then_confirm(finance_client, action_url(inv, "refund"), {"reason": "money-back"})
    refund = Refund.objects.get(invoice=inv)
    assert refund.amount == usd("14.00") == pv.refunds[0].amount


def test_refund_outside_the_window_needs_the_override(finance_client, on_nov_15):  # noqa: F811
    sub = subscribed()  # no money-back guarantee
    inv = Invoice.objects.get(subscription=sub)
    invoice_pay(invoice=inv, on=NOV_1)
    url = action_url(inv, "refund")
    refused = finance_client.post(url, {"reason": "angry customer", "preview": "1"})
    assert "Finance override" in refused.content.decode()
    preview_then_confirm(finance_client, url, {"reason": "angry customer", "override": "on"})
    assert Refund.objects.get(invoice=inv).amount == usd("14.00")


def test_invoice_list_never_counts_the_whole_table(admin_client, invoice, on_nov_15):  # noqa: F811
    url = reverse("admin:invoicing_invoice_changelist")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url)
    assert page.context["cl"].result_count == invoice.pk  # the estimate: the highest id on SQLite
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "invoicing_invoice" in q["sql"]]
    assert counts == []
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(url, {"status__exact": "open"})
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "invoicing_invoice" in q["sql"]]
    assert len(counts) == 1 and "LIMIT 10000" in counts[0]


def test_history_pages_show_old_versions_but_never_revert(finance_client, invoice, on_nov_15):  # noqa: F811
    invoice_pay(invoice=invoice, on=NOV_1)
    first = invoice.history.order_by("history_id").first()
    url = reverse("admin:invoicing_invoice_simple_history", args=[invoice.pk, first.history_id])
    assert finance_client.get(url).status_code == 200
    assert finance_client.post(url, {}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
