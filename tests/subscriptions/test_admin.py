"""The support admin for subscriptions: each action previews its money effect, then does exactly that."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from moneyed import Money

from accounts.models import Account, User
from accounts.staff_groups import FINANCE, SUPPORT, staff_groups_sync
from invoicing.models import CreditNote, Invoice
from invoicing.selectors import credit_balance
from subscriptions import services
from subscriptions.models import Cycle, Subscription
from tests.builders import ENTITLEMENTS_NONE, invite, make_account, make_plan, usd, verified_login

NOV_1 = dt.date(2026, 11, 1)
NOV_15 = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)


@pytest.fixture
def on_nov_15():
    with time_machine.travel(NOV_15, tick=False):
        yield


def staff(email: str, group: str | None = None, *, superuser: bool = False) -> User:
    if superuser:
        return User.objects.create_superuser(email=email, password=None)
    user = User.objects.create_user(email=email, password=None, is_staff=True)
    if group:
        staff_groups_sync()
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def admin_client(client, db):
    verified_login(client, staff("root@prorata.example", superuser=True))
    return client


@pytest.fixture
def support_client(client, db):
    verified_login(client, staff("sam@prorata.example", SUPPORT))
    return client


@pytest.fixture
def finance_client(client, db):
    verified_login(client, staff("fay@prorata.example", FINANCE))
    return client


def subscribed(*, cycle=Cycle.MONTHLY, seats_extra=1, on=NOV_1, **plan_settings) -> Subscription:
    """Acme on Pro ($7/month, $60/year), with the owner and `seats_extra` invited members."""
    plan = make_plan("pro", **plan_settings)
    account = make_account("Acme", on=on)
    if seats_extra:
        invite(account, seats_extra, on=on)
    return services.subscription_create(account=account, plan=plan, cycle=cycle, on=on)


def action_url(obj, name: str) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_action", args=[obj.pk, name])


def preview_then_confirm(client, url: str, data: dict):
    """POST the form for a preview, then confirm it with the preview's fingerprint."""
    shown = client.post(url, {**data, "preview": "1"})
    assert shown.status_code == 200, shown.content[:500]
    pv = shown.context["preview"]
    assert pv is not None, shown.context["form"].errors
    done = client.post(url, {**data, "confirm": "1", "fingerprint": pv.fingerprint()})
    assert done.status_code == 302, done.content[:1000]
    return shown, pv


def test_subscription_page_shows_seats_ledger_and_next_invoice(admin_client, on_nov_15):
    sub = subscribed()
    page = admin_client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>2</strong> in use · <strong>2</strong> paid" in html
    assert "Seat ledger" in html and "subscribed" in html
    # next renewal on Dec 1: 2 seats × $7.00 = $14.00, previewed by running the billing run and rolling it back
    assert "Pro (monthly) · 2 seats" in html and "$14.00" in html
    assert Invoice.objects.filter(account=sub.account).count() == 1
    for name in ("minimum_seats", "change_plan", "cancel", "grant_credit"):
        assert action_url(sub, name) in html


def test_change_plan_charges_exactly_what_the_confirmation_showed(admin_client, on_nov_15):
    sub = subscribed()
    team = make_plan("team", monthly="12.00", annual="100.00")
    _shown, pv = preview_then_confirm(
        admin_client, action_url(sub, "change_plan"), {"plan": team.pk, "reason": "upsell"}
    )
    # Nov 15 of Nov 1–30: 15 days left. Credit 2 × 7.00 × 15/30 = 7.00; charge 2 × 12.00 × 15/30 = 12.00
    assert [inv.total for inv in pv.invoices] == [usd("5.00")]
    issued = Invoice.objects.filter(account=sub.account, reason=Invoice.Reason.PLAN_CHANGE).get()
    assert issued.total == pv.invoices[0].total and issued.number == pv.invoices[0].number
    assert [line.amount for line in issued.lines.order_by("position")] == [usd("-7.00"), usd("12.00")]
    sub.refresh_from_db()
    assert sub.plan == team
    last = sub.history.order_by("-history_id").first()
    assert last.history_user.email == "root@prorata.example"
    assert last.history_change_reason == "upsell"
    history = admin_client.get(reverse("admin:subscriptions_subscription_history", args=[sub.pk])).content.decode()
    assert "upsell" in history and "root@prorata.example" in history


def test_preview_saves_nothing(admin_client, on_nov_15):
    sub = subscribed()
    team = make_plan("team", monthly="12.00", annual="100.00")
    before = Invoice.objects.count(), CreditNote.objects.count()
    page = admin_client.post(action_url(sub, "change_plan"), {"plan": team.pk, "preview": "1"})
    html = page.content.decode()
    assert "Money effect" in html
    assert "<th>Plan</th><td>Team</td>" in html  # the input, by name
    assert (Invoice.objects.count(), CreditNote.objects.count()) == before
    sub.refresh_from_db()
    assert sub.plan.code == "pro"


def test_set_minimum_seats_charges_nothing_now_and_previews_the_renewal(admin_client, on_nov_15):
    sub = subscribed()
    shown, pv = preview_then_confirm(admin_client, action_url(sub, "minimum_seats"), {"seats": 5, "reason": "deal"})
    assert pv.is_free
    # renewal on Dec 1 with the minimum: 5 × 7.00 = 35.00
    assert [inv.total for inv in shown.context["later"].invoices] == [usd("35.00")]
    sub.refresh_from_db()
    assert sub.minimum_seats == 5
    assert Invoice.objects.filter(account=sub.account).count() == 1
    services.billing_run(on=dt.date(2026, 12, 1), accounts=[sub.account])
    renewal = Invoice.objects.get(account=sub.account, reason=Invoice.Reason.RENEWAL)
    assert renewal.total == shown.context["later"].invoices[0].total


def test_switch_annual_to_monthly_waits_for_period_end(admin_client, on_nov_15):
    sub = subscribed(cycle=Cycle.ANNUAL)
    shown, pv = preview_then_confirm(admin_client, action_url(sub, "to_monthly"), {"reason": "customer asked"})
    assert pv.is_free
    sub.refresh_from_db()
    assert sub.pending_cycle == Cycle.MONTHLY and sub.cycle == Cycle.ANNUAL
    # at the end of the annual period the renewal is monthly: 2 × 7.00
    assert [inv.total for inv in shown.context["later"].invoices] == [usd("14.00")]


def test_extend_trial(admin_client, on_nov_15):
    plan = make_plan("pro", trial_days=14)
    account = make_account("Acme", on=NOV_1)
    sub = services.subscription_create(account=account, plan=plan, cycle=Cycle.MONTHLY, on=NOV_1, trial=True)
    preview_then_confirm(admin_client, action_url(sub, "extend_trial"), {"days": 7, "reason": "onboarding"})
    sub.refresh_from_db()
    assert sub.trial_end == dt.date(2026, 11, 22) and sub.period_end == dt.date(2026, 11, 22)
    assert not Invoice.objects.filter(account=account).exists()


def test_cancel_at_period_end_and_now(admin_client, on_nov_15):
    sub = subscribed()
    preview_then_confirm(admin_client, action_url(sub, "cancel"), {"when": "period_end", "reason": "asked"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end
    preview_then_confirm(admin_client, action_url(sub, "cancel"), {"when": "now", "reason": "fraud"})
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED and sub.expired_on == dt.date(2026, 11, 15)


def test_grant_credit_issues_a_grant_credit_note_and_respects_the_support_limit(support_client, on_nov_15):
    sub = subscribed()
    url = action_url(sub, "grant_credit")
    over = support_client.post(url, {"amount": "150.00", "reason": "outage", "preview": "1"})
    assert "Support may grant at most $100.00" in over.content.decode()
    _shown, pv = preview_then_confirm(support_client, url, {"amount": "50.00", "reason": "outage"})
    note = CreditNote.objects.get(account=sub.account)
    assert note.reason == CreditNote.Reason.GRANT and note.total == usd("50.00") == pv.credit_notes[0].total
    assert note.credit_entries.get().amount == usd("50.00")
    assert credit_balance(sub.account) == usd("50.00")


def test_finance_may_grant_above_the_support_limit(finance_client, on_nov_15):
    sub = subscribed()
    preview_then_confirm(finance_client, action_url(sub.account, "grant_credit"), {"amount": "250", "reason": "sla"})
    assert credit_balance(sub.account) == usd("250.00")


def test_finance_cannot_change_subscriptions(finance_client, on_nov_15):
    sub = subscribed()
    assert finance_client.get(action_url(sub, "cancel")).status_code == 403


def test_unlock_account_is_recorded_with_its_reason(admin_client, on_nov_15):
    sub = subscribed()
    Account.objects.filter(pk=sub.account_id).update(locked_on=dt.date(2026, 11, 14))
    rows_before = Account.objects.get(pk=sub.account_id).history.count()
    preview_then_confirm(admin_client, action_url(sub, "unlock"), {"reason": "promised to pay"})
    account = Account.objects.get(pk=sub.account_id)
    assert account.locked_on is None
    assert account.history.count() == rows_before + 1  # one row for one unlock
    last = account.history.order_by("-history_id").first()
    assert last.locked_on is None and last.history_change_reason == "promised to pay"
    assert last.history_user.email == "root@prorata.example"


def test_what_if_replays_the_seat_history_under_another_plan_and_saves_nothing(admin_client, on_nov_15):
    with time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC), tick=False):
        sub = subscribed()
        invite(sub.account, 1, on=dt.date(2026, 11, 10))  # 3rd seat: 1 × 7.00 × 20/30 = 4.67
    cheap = make_plan("cheap", monthly="3.00", annual="30.00")
    counts = Invoice.objects.count(), Account.objects.count(), User.objects.count()
    url = reverse("admin:subscriptions_subscription_what_if", args=[sub.pk])
    page = admin_client.get(url, {"plan": cheap.pk})
    assert page.status_code == 200
    result = page.context["result"]
    assert [inv.total for inv in result.actual] == [usd("14.00"), usd("4.67")]
    # under Cheap: 2 × 3.00 = 6.00 on Nov 1, then 1 × 3.00 × 20/30 = 2.00 on Nov 10
    assert [inv.total for inv in result.replay] == [usd("6.00"), usd("2.00")]
    assert result.replay_total == usd("8.00") and result.actual_total == usd("18.67")
    assert (Invoice.objects.count(), Account.objects.count(), User.objects.count()) == counts


def test_plan_price_change_never_changes_issued_invoices(admin_client, on_nov_15):
    sub = subscribed()
    plan = sub.plan
    issued = Invoice.objects.get(account=sub.account)
    url = reverse("admin:subscriptions_plan_change", args=[plan.pk])
    page = admin_client.get(url)
    assert "next renewal" in page.content.decode()
    data = plan_form_data(plan, monthly="9.00", annual="90.00")
    assert admin_client.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.monthly_price == usd("9.00")
    issued.refresh_from_db()
    assert issued.total == usd("14.00")
    assert [line.unit_price for line in issued.lines.all()] == [usd("7.00")]
    services.billing_run(on=dt.date(2026, 12, 1), accounts=[sub.account])
    assert Invoice.objects.get(account=sub.account, reason="renewal").total == usd("18.00")  # 2 × 9.00


def test_plan_price_change_can_keep_existing_subscriptions_on_the_old_price(admin_client, on_nov_15):
    sub = subscribed()
    plan = sub.plan
    url = reverse("admin:subscriptions_plan_change", args=[plan.pk])
    data = plan_form_data(plan, monthly="9.00", annual="90.00", existing_subscriptions="keep")
    assert admin_client.post(url, data).status_code == 302
    sub.refresh_from_db()
    assert sub.plan.code == "pro-20261115" and not sub.plan.is_public
    assert sub.plan.monthly_price == usd("7.00")
    services.billing_run(on=dt.date(2026, 12, 1), accounts=[sub.account])
    assert Invoice.objects.get(account=sub.account, reason="renewal").total == usd("14.00")


def test_annual_price_helper_fills_monthly_times_ten(admin_client, on_nov_15):
    url = reverse("admin:subscriptions_plan_add")
    page = admin_client.get(url)
    # the helper is a static script (the CSP allows no inline one); the CSP browser test clicks it
    assert "js/plan-annual-price.js" in page.content.decode()
    assert "Monthly × 10 (two months free)" in (settings.BASE_DIR / "static/js/plan-annual-price.js").read_text()
    assert "existing_subscriptions" not in page.content.decode()
    plan = make_plan("tmp")
    data = plan_form_data(plan, monthly="7.50", annual="", two_months_free="on")
    data["code"] = "new"
    assert admin_client.post(url, data).status_code == 302
    from subscriptions.models import Plan

    assert Plan.objects.get(code="new").annual_price == Money(Decimal("75.00"), "USD")


def plan_form_data(plan, *, monthly, annual, **extra) -> dict:
    data = {
        "code": plan.code,
        "name": plan.name,
        "is_public": "on",
        "currency": plan.currency,
        "monthly_price_0": monthly,
        "monthly_price_1": "USD",
        "annual_price_0": annual,
        "annual_price_1": "USD",
        "seat_mode": plan.seat_mode,
        "seat_add_billing_monthly": plan.seat_add_billing_monthly,
        "seat_add_billing_annual": plan.seat_add_billing_annual,
        "seat_removal": plan.seat_removal,
        "max_seats": "",
        "to_monthly": plan.to_monthly,
        "trial_days": plan.trial_days,
        "trial_offer_0": "",
        "trial_offer_1": "USD",
        "refund_window_days": plan.refund_window_days,
        "grace_days": plan.grace_days,
        "max_instances": "",
        "existing_subscriptions": "move",
        **ENTITLEMENTS_NONE,
    }
    data.update(extra)
    return data


def test_search_subscriptions_by_public_id_account_name_and_owner_email(admin_client, on_nov_15):
    sub = subscribed()
    owner_email = sub.account.memberships.get(role="owner").email
    url = reverse("admin:subscriptions_subscription_changelist")
    for term in (sub.public_id, "acme", owner_email):
        assert list(admin_client.get(url, {"q": term}).context["cl"].result_list) == [sub], term
    assert list(admin_client.get(url, {"q": "sub_nothing"}).context["cl"].result_list) == []


def test_plan_form_offers_the_switch_documents_setting(admin_client, on_nov_15):
    # SPEC §2.4: one invoice with a credit line (default), or Timebook's credit note then invoice
    sub = subscribed()
    plan = sub.plan
    url = reverse("admin:subscriptions_plan_change", args=[plan.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="switch_documents"' in page and "A credit note for the unused days, then the invoice" in page
    data = plan_form_data(plan, monthly="7.00", annual="70.00", switch_documents="credit_note_and_invoice")
    assert admin_client.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.switch_documents == "credit_note_and_invoice"
    # a post without the field keeps what the plan has
    assert admin_client.post(url, plan_form_data(plan, monthly="7.00", annual="70.00")).status_code == 302
    plan.refresh_from_db()
    assert plan.switch_documents == "credit_note_and_invoice"


def test_switch_to_monthly_preview_leaves_a_waiting_true_up_on_its_own_invoice(admin_client, on_nov_15):
    """Issue 17, item 5: the true-up due Dec 1 showed on the renewal a year away."""
    sub = subscribed(cycle=Cycle.ANNUAL, to_monthly="support_only", seat_add_billing_annual="monthly_true_up")
    invite(sub.account, 1, on=dt.date(2026, 11, 10))  # waits for the Dec 1 true-up
    shown = admin_client.post(action_url(sub, "to_monthly"), {"reason": "customer asked", "preview": "1"})
    later = shown.context["later"]
    assert [inv.issued_on for inv in later.invoices] == [dt.date(2027, 11, 1)]
    (renewal,) = later.invoices
    assert [line.description for line in renewal.lines] == ["Pro (monthly) · 3 seats"]  # no true-up line
    assert renewal.total == usd("21.00")  # 3 seats × 7.00, the first monthly period


def test_the_reason_a_customer_gave_for_canceling_is_shown_to_support(admin_client, on_nov_15):
    sub = subscribed()
    services.subscription_cancel(subscription=sub, on=dt.date(2026, 11, 15), reason="too_expensive", comment="Budget")
    html = admin_client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk])).content.decode()
    assert "It costs too much" in html and "Budget" in html
    listed = admin_client.get(
        reverse("admin:subscriptions_subscription_changelist"), {"cancel_reason": "too_expensive"}
    )
    assert list(listed.context["cl"].result_list) == [sub]
