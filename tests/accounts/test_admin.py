"""The support admin for accounts: the account page, search, staff groups and history pages."""

from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Account
from accounts.staff_groups import FINANCE, SUPPORT, staff_groups_sync
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_grant
from tests.builders import usd
from tests.subscriptions.test_admin import (
    NOV_1,
    admin_client,  # noqa: F401 (fixture)
    on_nov_15,  # noqa: F401 (fixture)
    preview_then_confirm,
    subscribed,
    support_client,  # noqa: F401 (fixture)
)


def test_index_is_the_tidied_stock_admin(admin_client):  # noqa: F811
    page = admin_client.get(reverse("admin:index"))
    html = page.content.decode()
    assert "Prorata support" in html
    for app in ("Accounts", "Subscriptions", "Invoicing"):
        assert app in html


def test_account_page_shows_profile_members_subscription_credit_and_documents(admin_client, on_nov_15):  # noqa: F811
    sub = subscribed()
    account = sub.account
    note = credit_grant(account=account, amount=usd("10.00"), reason="goodwill", on=NOV_1)
    page = admin_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Billing profile" in html and "Members" in html
    assert sub.public_id in html and "2 in use / 2 paid" in html
    assert "Credit balance" in html and "$10.00" in html and f"Credit note {note.number}" in html
    invoice = Invoice.objects.get(account=account)
    assert invoice.number in html and note.number in html
    assert f"?account__id__exact={account.pk}" in html
    listed = admin_client.get(reverse("admin:invoicing_invoice_changelist"), {"account__id__exact": account.pk})
    assert list(listed.context["cl"].result_list) == [invoice]


def test_search_accounts_by_name_and_owner_email(admin_client, on_nov_15):  # noqa: F811
    sub = subscribed()
    owner_email = sub.account.memberships.get(role="owner").email
    url = reverse("admin:accounts_account_changelist")
    assert list(admin_client.get(url, {"q": "acm"}).context["cl"].result_list) == [sub.account]
    assert list(admin_client.get(url, {"q": owner_email}).context["cl"].result_list) == [sub.account]
    assert list(admin_client.get(url, {"q": "nobody@x"}).context["cl"].result_list) == []


def test_staff_groups_hold_their_permissions(db):
    staff_groups_sync()
    staff_groups_sync()  # idempotent
    support = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=SUPPORT).permissions.all()}
    finance = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=FINANCE).permissions.all()}
    assert {"accounts.change_account", "subscriptions.change_subscription", "invoicing.grant_credit"} <= support
    assert not {"invoicing.void_invoice", "invoicing.refund_invoice", "subscriptions.change_plan"} & support
    assert {"invoicing.void_invoice", "invoicing.refund_invoice", "subscriptions.change_plan"} <= finance
    assert "invoicing.grant_credit_unlimited" in finance and "subscriptions.change_subscription" not in finance


def test_history_page_shows_who_changed_what_and_why(admin_client, on_nov_15):  # noqa: F811
    sub = subscribed()
    account = sub.account
    url = reverse("admin:accounts_account_change", args=[account.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update({"legal_name": "Acme GmbH", "_save": "Save"})
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Account.objects.get(pk=account.pk).legal_name == "Acme GmbH"
    history = admin_client.get(reverse("admin:accounts_account_history", args=[account.pk])).content.decode()
    assert "root@prorata.example" in history and "Acme GmbH" in history
    member_history = account.memberships.first().history.all()
    assert member_history.exists()


def test_support_archives_a_member_through_the_service(support_client, on_nov_15):  # noqa: F811
    sub = subscribed(seat_removal="credit_prorated")
    member = sub.account.memberships.exclude(role="owner").get()
    url = reverse("admin:accounts_membership_action", args=[member.pk, "archive"])
    _shown, pv = preview_then_confirm(support_client, url, {"reason": "left the company"})
    # Nov 15 of Nov 1–30: 15 unused days of 1 seat, 7.00 × 15/30 = 3.50 credited
    assert [n.total for n in pv.credit_notes] == [usd("3.50")]
    member.refresh_from_db()
    assert member.status == "archived"
    assert CreditNote.objects.get(account=sub.account).total == usd("3.50")
    assert member.history.order_by("-history_id").first().history_change_reason == "left the company"


def test_every_registered_model_lists_and_each_object_page_renders(admin_client, on_nov_15):  # noqa: F811
    from django.contrib import admin

    sub = subscribed()
    credit_grant(account=sub.account, amount=usd("1.00"), reason="hello", on=NOV_1)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        listing = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        obj = model_admin.get_queryset(listing.wsgi_request).first()
        if obj is not None:
            page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            assert page.status_code == 200, opts.label


def test_account_page_shows_the_newest_fifty_ledger_entries(admin_client, on_nov_15):  # noqa: F811
    from invoicing.models import CreditEntry

    sub = subscribed()
    note = credit_grant(account=sub.account, amount=usd("60.00"), reason="goodwill", on=NOV_1)
    CreditEntry.objects.bulk_create(
        [
            CreditEntry(account=sub.account, amount=usd("-1.00"), on=NOV_1, memo=f"use {i}", credit_note=note)
            for i in range(60)
        ]
    )
    page = admin_client.get(reverse("admin:accounts_account_change", args=[sub.account.pk]))
    ledger = next(f for f in page.context["inline_admin_formsets"] if f.formset.model is CreditEntry)
    assert len(ledger.formset.forms) == 50
    assert "full ledger" in page.content.decode()


def _change_form_data(page) -> dict:
    """What the account's change page posts back unchanged: its form's values and the inlines' management forms."""
    form = page.context["adminform"].form
    data = {name: form[name].value() if form[name].value() is not None else "" for name in form.fields}
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({management[name].html_name: management[name].value() for name in management.fields})
    return data


def test_billing_details_in_the_admin_go_through_the_same_checks(admin_client, on_nov_15):  # noqa: F811
    account = subscribed().account
    url = reverse("admin:accounts_account_change", args=[account.pk])
    data = _change_form_data(admin_client.get(url))

    # A wrong check digit (DE136695976 is valid): the form says why, nothing is saved.
    page = admin_client.post(url, {**data, "country": "DE", "tax_id": "DE136695975", "city": "Berlin"})
    assert page.status_code == 200
    assert "DE VAT numbers are DE followed by 9 digits." in page.content.decode()
    page = admin_client.post(url, {**data, "legal_name": "N" * 10_000})
    assert "at most 200 characters long (this one has 10,000)" in page.content.decode()
    account.refresh_from_db()
    assert (account.tax_id, account.city, account.legal_name) == ("", "", "")

    done = admin_client.post(url, {**data, "country": "DE", "tax_id": "de 136 695 976", "city": "Berlin"})
    assert done.status_code == 302
    account.refresh_from_db()
    assert (account.country, account.tax_id, account.city) == ("DE", "DE136695976", "Berlin")
    assert account.history.first().history_change_reason == "billing details changed"
