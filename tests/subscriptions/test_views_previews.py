"""subscriptions.previews: any service, run and rolled back; the confirmed result equals the preview."""

from datetime import date

import pytest

from accounts import services as accounts_services
from accounts.models import Membership
from invoicing.models import CreditNote, Invoice, InvoiceLine, NumberSeries
from subscriptions.models import SeatAddBilling, SeatRemoval
from subscriptions.previews import confirm, cost_impact, invoice_preview, next_invoice_preview, preview
from tests.builders import make_plan, world

pytestmark = pytest.mark.django_db

NOV_1, NOV_15 = date(2026, 11, 1), date(2026, 11, 15)


def counts():
    return (
        Invoice.objects.count(),
        InvoiceLine.objects.count(),
        CreditNote.objects.count(),
        Membership.objects.count(),
        list(NumberSeries.objects.values_list("prefix", "year", "last_value")),
    )


def test_preview_of_an_invite_shows_the_prorated_invoice_and_writes_nothing():
    w = world(on=NOV_1, people=2)  # 3 seats on Team at $7.00 a month, Nov 1 – Dec 1
    before = counts()
    result = preview(accounts_services.membership_invite, account=w.account, email="new@example.com", on=NOV_15)
    assert counts() == before  # the rows and the invoice number were rolled back
    [inv] = result.invoices
    [line] = inv.lines
    assert line.amount.amount == pytest.approx(3.50)  # 7.00 × 15/30 (Nov 16 – Nov 30)
    assert "15 of 30 days" in line.explanation
    assert inv.amount_due.amount == pytest.approx(3.50)
    assert cost_impact(result) == ["+1 seat: $3.50 invoiced now ($3.50 due now)."]


def test_confirmed_invoice_equals_the_preview():
    w = world(on=NOV_1, people=2)
    kwargs = {"account": w.account, "email": "new@example.com", "on": NOV_15, "by": w.owner}
    shown = preview(accounts_services.membership_invite, **kwargs)
    done, result = confirm(accounts_services.membership_invite, expected=shown.fingerprint(), **kwargs)
    assert done
    issued = Invoice.objects.filter(account=w.account).order_by("-id").first()
    assert invoice_preview(issued) == shown.invoices[0]  # same lines, same totals
    assert result.invoices[0].number == issued.number
    assert Membership.objects.filter(account=w.account, email="new@example.com").exists()


def test_confirm_keeps_nothing_when_the_cost_changed_since_the_preview():
    w = world(on=NOV_1, people=2)
    kwargs = {"account": w.account, "email": "new@example.com", "on": NOV_15}
    shown = preview(accounts_services.membership_invite, **kwargs)
    accounts_services.membership_invite(account=w.account, email="first@example.com", on=NOV_1)  # a seat, earlier
    before = counts()
    done, now = confirm(accounts_services.membership_invite, expected=shown.fingerprint(), **kwargs)
    assert not done
    assert counts() == before
    assert now.invoices and now.fingerprint() != shown.fingerprint()


def test_a_refusal_is_the_preview_and_changes_nothing():
    free = make_plan("free", monthly="0", annual=None, name="Free", max_seats=3)
    w = world(on=NOV_1, people=2, plan_obj=free)
    result = preview(accounts_services.membership_invite, account=w.account, email="four@example.com", on=NOV_15)
    assert result.refused == "The Free plan allows at most 3 users."
    assert cost_impact(result) == ["The Free plan allows at most 3 users."]
    assert not Membership.objects.filter(email="four@example.com").exists()


def test_archive_then_invite_under_keep_until_renewal_fills_the_free_seat():
    w = world(on=NOV_1, people=2)
    member = Membership.objects.filter(account=w.account, role="member").first()
    archived = preview(accounts_services.membership_archive, membership=member, on=NOV_15)
    assert archived.is_free
    assert cost_impact(archived) == [
        "−1 seat: no credit. The freed seat stays paid until Nov 30, 2026 and can be refilled at no charge."
    ]
    member.refresh_from_db()
    assert member.status == "active"  # the caller's object is untouched by the rolled-back run
    accounts_services.membership_archive(membership=member, on=NOV_15)
    invited = preview(accounts_services.membership_invite, account=w.account, email="new@example.com", on=NOV_15)
    assert cost_impact(invited) == ["Fills a free seat: no charge."]


def test_next_invoice_and_credit_note_in_words():
    later = make_plan(
        "later", seat_add_billing_monthly=SeatAddBilling.NEXT_INVOICE, seat_removal=SeatRemoval.CREDIT_PRORATED
    )
    w = world(on=NOV_1, people=2, plan_obj=later)
    added = preview(accounts_services.membership_invite, account=w.account, email="new@example.com", on=NOV_15)
    assert cost_impact(added) == ["+1 seat: added to your next invoice on Dec 1, 2026: $3.50."]
    two = list(Membership.objects.filter(account=w.account, role="member"))
    removed = preview(accounts_services.membership_archive_many, memberships=two, on=NOV_15)
    assert cost_impact(removed) == ["−2 seats: $7.00 credit, by a credit note issued today."]  # 2 × 7.00 × 15/30


def test_next_renewal_preview_of_the_billing_run():
    w = world(on=NOV_1, people=2)
    result = next_invoice_preview(w.sub)
    [renewal] = result.invoices
    assert renewal.reason == "Renewal"
    assert renewal.total.amount == pytest.approx(21.00)  # 3 seats × 7.00
    assert w.account.subscriptions.get().period_end == date(2026, 12, 1)  # rolled back


def test_a_preview_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    w = world(on=NOV_1, people=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = preview(accounts_services.membership_invite, account=w.account, email="new@example.com", on=NOV_15)
    assert result.invoices  # an invoice was written and finalised in there …
    assert callbacks == [] and mailoutbox == []  # … and its PDF, email and card charge went with the rollback
