"""Settings › Subscription (SPEC §3): what the account pays, and every change with its cost shown first.

Each change that costs or credits money is a GET that shows `previews.preview`
of the service — the service itself, rolled back — and a POST that runs the
same service through `previews.confirm`, which keeps the result only if it is
exactly what was shown. Then a message, and a redirect (POST-redirect-GET).
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import billing_required
from accounts.models import Membership
from accounts.vies import vies_notice
from common.clock import today
from common.errors import Refused
from common.locales import page_locale
from invoicing.formatting import billed, day, money
from invoicing.models import Invoice, StripeCustomer
from invoicing.selectors import credit_balance
from subscriptions import services
from subscriptions.forms import CancelForm, CouponForm, PlanForm, SeatsForm, SubscribeForm
from subscriptions.models import Cycle, Plan, SeatMode, SeatRemoval, Subscription, ToMonthly
from subscriptions.plan_words import plan_card, plan_cards
from subscriptions.previews import (
    Preview,
    confirm,
    cost_impact,
    next_billing_day,
    next_invoice_preview,
    preview,
    preview_next_invoice_after,
    preview_through,
    preview_with_next_invoices,
)
from subscriptions.selectors import (
    active_redemption,
    coupon_periods_left,
    latest_subscription,
    live_subscription,
    plan_change_waits_until,
    refund_window_end,
    seat_summary,
    subscription_period,
)

Status = Subscription.Status


def _locale(request) -> str:
    return page_locale(request.account)


def _detail_url() -> str:
    return reverse("subscriptions:detail")


def _seen(request, sub: Subscription | None) -> Subscription | None:
    """Keep the live subscription the view has read for the page's trial banner (context_processors): one query."""
    request.live_subscription = sub
    return sub


def outcome_summary(result: Preview, locale: str) -> str:
    """The documents a confirmed change wrote, in one sentence for the flash message."""
    parts = []
    for inv in result.invoices:
        said = {"number": inv.number, "total": money(inv.total, locale), "due": money(inv.amount_due, locale)}
        if inv.amount_due.amount:
            parts.append(_("Invoice %(number)s: %(total)s, %(due)s due.") % said)
        else:
            parts.append(_("Invoice %(number)s: %(total)s, nothing due.") % said)
    for note in result.credit_notes:
        said = {"number": note.number, "total": money(note.total, locale)}
        parts.append(_("Credit note %(number)s: %(total)s added to your credit balance.") % said)
    for line in result.waiting:
        said = {"amount": money(line.amount, locale), "day": day(line.bill_on, locale)}
        parts.append(_("%(amount)s added to your invoice of %(day)s.") % said)
    for refund in result.refunds:
        said = {"amount": money(refund.amount, locale), "number": refund.invoice_number}
        parts.append(_("%(amount)s refunded on %(number)s.") % said)
    return " ".join(parts)


# ---------------------------------------------------------------- the page


def _seat_meaning(sub: Subscription, free: int, on, locale: str) -> str:
    """What the free seats mean under this plan's policy (SPEC §2.3)."""
    until = day(subscription_period(sub).last_day, locale)
    said = {"free": free, "bought": sub.bought_seats, "until": until}
    if sub.is_trialing:
        return _("Seats cost nothing during the trial; you pay for the seats in use when it ends.")
    if sub.plan.seat_mode == SeatMode.FIXED:
        if free:
            return (
                ngettext(
                    "%(free)s of your %(bought)s bought seats is free: invite people at no charge.",
                    "%(free)s of your %(bought)s bought seats are free: invite people at no charge.",
                    free,
                )
                % said
            )
        return _("All %(bought)s bought seats are taken. Buy more seats before inviting anyone else.") % said
    if not free:
        return _("Seats follow your members: inviting someone adds a paid seat.")
    if sub.plan.seat_removal == SeatRemoval.KEEP_UNTIL_RENEWAL:
        return (
            ngettext(
                "%(free)s seat freed this period can be refilled at no charge until %(until)s; "
                "after that you pay for the seats in use.",
                "%(free)s seats freed this period can be refilled at no charge until %(until)s; "
                "after that you pay for the seats in use.",
                free,
            )
            % said
        )
    return (
        ngettext(
            "%(free)s seat of your minimum commitment is unused: invite people at no charge.",
            "%(free)s seats of your minimum commitment are unused: invite people at no charge.",
            free,
        )
        % said
    )


def _commitments(sub: Subscription, locale: str) -> list[tuple[str, str]]:
    """Every change waiting for a later day and every commitment that shapes the next invoice, in words.

    Support may set these in the admin; the customer sees each one here (and in the API's
    `scheduled_change` and `minimum_seats`). A pending plan change has its own block with “undo”.
    """
    renewal = day(sub.period_end, locale)
    words = {"minimum": sub.minimum_seats, "renewal": renewal}
    said = []
    if sub.minimum_seats:
        if sub.minimum_seats > sub.paid_seats:
            said.append(
                (
                    _("Commitment"),
                    _(
                        "Minimum %(minimum)s seats: from the next invoice (%(renewal)s) you pay for at least "
                        "%(minimum)s seats, even with fewer in use."
                    )
                    % words,
                )
            )
        else:
            said.append(
                (
                    _("Commitment"),
                    _("Minimum %(minimum)s seats: you pay for at least %(minimum)s seats, even with fewer in use.")
                    % words,
                )
            )
    if sub.pending_cycle and sub.pending_cycle != sub.cycle and not sub.cancel_at_period_end:
        cycles = {"renewal": renewal, "next": billed(sub.pending_cycle), "now": billed(sub.cycle)}
        said.append(
            (
                _("Scheduled"),
                _("From %(renewal)s you are billed %(next)s; until then this period stays billed %(now)s.") % cycles,
            )
        )
    return said


def _detail_context(request, *, coupon_form=None) -> dict:
    account = request.account
    on = today(account)
    locale = _locale(request)
    sub = latest_subscription(account)
    _seen(request, sub if sub is not None and not sub.is_expired else None)  # the newest is the live one, if any
    ctx = {"locale": locale, "today": on, "sub": sub, "account": account, "seller": settings.SELLER}
    if sub is None or sub.is_expired:
        ctx["subscribe_form"] = SubscribeForm(account=account)
        return ctx
    seats = seat_summary(account, sub)
    free = seats["free"]
    next_result = next_invoice_preview(sub, documents_only=True)
    redemption = active_redemption(sub)
    refund_until = refund_window_end(sub) if sub.plan.refund_window_days else None
    ctx.update(
        in_use=seats["in_use"],
        invited=seats["invited"],
        free=free,
        seat_meaning=_seat_meaning(sub, free, on, locale),
        commitments=_commitments(sub, locale),
        unpaid=bool(account.locked_on) or sub.status == Subscription.Status.PAST_DUE,
        next_result=next_result,
        next_invoice=next_result.invoices[0] if next_result.invoices else None,
        next_on=sub.trial_end if sub.is_trialing and sub.trial_end else sub.period_end,
        balance=credit_balance(account),
        redemption=redemption,
        coupon_left=coupon_periods_left(redemption),
        coupon_form=coupon_form or CouponForm(),
        seats_form=SeatsForm(initial={"seats": sub.bought_seats}) if sub.plan.seat_mode == SeatMode.FIXED else None,
        other_cycle=Cycle.MONTHLY if sub.cycle == Cycle.ANNUAL else Cycle.ANNUAL,
        support_only=sub.cycle == Cycle.ANNUAL and sub.plan.to_monthly == ToMonthly.SUPPORT_ONLY,
        refund_until=refund_until if refund_until and on <= refund_until else None,
        open_invoices=list(
            Invoice.objects.filter(account=account, status=Invoice.Status.OPEN).order_by("due_on", "id")[:5]
        ),
        trial_days_left=max((sub.trial_end - on).days, 0) if sub.is_trialing and sub.trial_end else None,
        card_label=_card_label(account),
        vies_notice=vies_notice(account, on),
    )
    return ctx


def _card_label(account) -> str:
    """ "Visa •••• 4242, expires 12/29" when the account pays by card, else ""."""
    if account.payment_gateway != account.Gateway.STRIPE:
        return ""
    customer = StripeCustomer.objects.filter(account=account).first()
    return customer.card_label if customer else ""


@billing_required
def subscription_detail(request):
    return render(request, "subscriptions/subscription_detail.html", _detail_context(request))


# ---------------------------------------------------------------- changes that cost or credit money


def _next_invoice_change(service, kwargs: dict, result: Preview, locale: str, after=None, before=None) -> str:
    """What the change does to the next invoice, in words: every preview says it (issue 17, item 8).

    `after` is (the next invoice after the change, its day) and `before` (the next invoice without it, its
    day) when the caller already has them (`preview_with_next_invoices`); otherwise they are previewed here.
    """
    sub = kwargs.get("subscription")
    if sub is None or result.refused or sub.is_expired:
        return ""
    if before is None:
        before_on = next_billing_day(sub)
        before = (next_invoice_preview(sub, on=before_on, documents_only=True), before_on)
    before, before_on = before
    after, after_on = after or preview_next_invoice_after(service, **kwargs)
    if after.refused:
        return ""
    total_before = before.invoices[0].total if before.invoices else None
    total_after = after.invoices[0].total if after.invoices else None
    if total_after is None:
        return _("After this change nothing more is invoiced.") if after_on is None else ""
    said = {"day": day(after_on, locale), "total": money(total_after, locale)}
    if total_before is None:
        return _("Your next invoice, on %(day)s: %(total)s.") % said
    said |= {"before": money(total_before, locale), "before_day": day(before_on, locale)}
    if after_on == before_on:
        if total_before == total_after:
            return _("Your next invoice, on %(day)s, stays %(total)s.") % said
        return _("Your next invoice, on %(day)s: %(total)s instead of %(before)s.") % said
    return _("Your next invoice, on %(day)s: %(total)s (without this change: %(before)s on %(before_day)s).") % said


def _confirmation(
    request,
    *,
    service,
    kwargs: dict,
    title: str,
    intro: str,
    done: str,
    params: dict,
    on_refused=None,
    until=None,
):
    """GET shows the preview of `service(**kwargs, on=today, by=user)`; POST runs it if it still writes exactly that.

    With `until` (a change that waits for that day), the page also shows what the daily run will
    issue then, after the change: a dry run of both, rolled back.
    """
    locale = _locale(request)
    kwargs = {**kwargs, "on": today(request.account), "by": request.user}
    changed, after, before = False, None, None
    if request.method == "POST":
        try:
            ok, result = confirm(service, expected=request.POST.get("fingerprint", ""), **kwargs)
        except Refused as refused:
            if on_refused is not None:
                return on_refused(refused)
            messages.error(request, str(refused))
            return redirect(_detail_url())
        if ok:
            messages.success(request, f"{done} {outcome_summary(result, locale)}".strip())
            return redirect(_detail_url())
        changed = True
    else:
        if until is None and "subscription" in kwargs:  # the next invoice before and after: one dry run for all
            result, before, after = preview_with_next_invoices(service, **kwargs)
        else:
            result = preview(service, **kwargs)
        if result.refused and on_refused is not None:
            return on_refused(Refused(result.refused, field=result.refused_field))
    later = preview_through(service, until=until, **kwargs) if until is not None and not result.refused else None
    next_change = _next_invoice_change(service, kwargs, result, locale, after, before) if later is None else None
    return render(
        request,
        "subscriptions/confirm.html",
        {
            "title": title,
            "intro": intro,
            "result": result,
            "later": later,
            "next_change": next_change,
            "until": until,
            "fingerprint": result.fingerprint(),
            "params": params,
            "changed": changed,
            "locale": locale,
            "seller": settings.SELLER,
            "back": _detail_url(),
        },
    )


def _live_required(view):
    """Changes need a live subscription; without one, back to the page that offers to subscribe."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        sub = _seen(request, live_subscription(request.account))
        if sub is None:
            messages.info(request, _("There is no subscription to change; choose a plan first."))
            return redirect(_detail_url())
        return view(request, sub, *args, **kwargs)

    return wrapped


def _params(request):
    return request.POST if request.method == "POST" else request.GET


@billing_required
def subscribe(request):
    """No subscription (or an expired one): choose plan, cycle, seats → preview → subscribe."""
    account = request.account
    if live_subscription(account) is not None:
        return redirect(_detail_url())
    data = _params(request)
    form = SubscribeForm(data if "plan" in data else None, account=account)

    def show_form(refused=None):
        if refused is not None:
            form.add_error(refused.field if refused.field in form.fields else None, str(refused))
        locale = _locale(request)
        cards = plan_cards(form.fields["plan"].queryset, locale)
        return render(request, "subscriptions/subscribe.html", {"form": form, "cards": cards, "locale": locale})

    if not form.is_bound or not form.is_valid():
        return show_form()
    cd = form.cleaned_data
    plan = cd["plan"]
    fixed = plan.seat_mode == SeatMode.FIXED
    trial = bool(cd["trial"] and plan.trial_days)
    said = {"days": plan.trial_days, "plan": plan.name, "billed": billed(cd["cycle"])}
    if trial:
        intro = (
            _(
                "Start the %(days)s-day trial of %(plan)s, billed %(billed)s after it: "
                "nothing is charged during the trial."
            )
            % said
        )
    else:
        intro = _("Subscribe to %(plan)s, billed %(billed)s.") % said
    return _confirmation(
        request,
        service=services.subscription_start,
        kwargs={
            "account": account,
            "billing_details": form.billing_details,
            "plan": plan,
            "cycle": cd["cycle"],
            "seats": cd["seats"] if fixed else None,
            "coupon": cd["coupon"] or None,
            "trial": trial,
        },
        title=_("Subscribe"),
        intro=intro,
        done=_("Welcome to %(plan)s.") % said,
        params={k: v for k, v in cd.items() if k != "plan"} | {"plan": plan.code},
        on_refused=show_form,
    )


@billing_required
@_live_required
def switch_cycle(request, sub: Subscription):
    cycle = _params(request).get("cycle", "")
    if cycle not in Cycle.values:
        cycle = Cycle.MONTHLY if sub.cycle == Cycle.ANNUAL else Cycle.ANNUAL
    return _confirmation(
        request,
        service=services.subscription_switch_cycle,
        kwargs={"subscription": sub, "cycle": cycle},
        title=_("Switch to annual billing") if cycle == Cycle.ANNUAL else _("Switch to monthly billing"),
        intro=(
            (
                _(
                    "You are billed %(now)s on the %(plan)s plan. Switching credits the unused days "
                    "and starts a new annual period tomorrow."
                )
                if cycle == Cycle.ANNUAL
                else _(
                    "You are billed %(now)s on the %(plan)s plan. Switching credits the unused days "
                    "and starts a new monthly period tomorrow."
                )
            )
            % {"now": billed(sub.cycle), "plan": sub.plan.name}
            if not sub.is_trialing
            else _("Your trial continues; after it you will be billed %(next)s.") % {"next": billed(cycle)}
        ),
        done=_("You are now billed %(next)s.") % {"next": billed(cycle)},
        params={"cycle": cycle},
    )


@billing_required
@_live_required
def change_plan(request, sub: Subscription):
    """Upgrades are prorated today; under the plan's `downgrade` at_period_end a cheaper plan waits (SPEC §2.4).

    The confirmation says which of the two happens, and when.
    """
    locale = _locale(request)
    form = PlanForm(_params(request) if "plan" in _params(request) else None, subscription=sub)
    if not form.is_bound or not form.is_valid():
        plans = form.fields["plan"].queryset
        return render(
            request,
            "subscriptions/plan_choose.html",
            {
                "form": form,
                "sub": sub,
                "plans": plans,
                "rows": [(plan_card(plan, locale), plan_change_waits_until(sub, plan)) for plan in plans],
                "current": plan_card(sub.plan, locale),
                "locale": locale,
            },
        )
    plan: Plan = form.cleaned_data["plan"]
    waits_until = plan_change_waits_until(sub, plan)
    if waits_until is not None:
        last_day = day(subscription_period(sub).last_day, locale)
        when = day(waits_until, locale)
        said = {
            "plan": plan.name,
            "when": when,
            "price": money(plan.price(sub.cycle), locale),
            "now_price": money(sub.plan.price(sub.cycle), locale),
            "now": sub.plan.name,
            "last_day": last_day,
        }
        cheaper = (
            _(
                "%(plan)s costs less per seat (%(price)s instead of %(now_price)s a month), so the change waits for "
                "the end of the period you have paid for: you stay on %(now)s until %(last_day)s, and from %(when)s "
                "you are on %(plan)s. Nothing is credited for the rest of this period. You can undo the change until "
                "then."
            )
            if sub.cycle == Cycle.MONTHLY
            else _(
                "%(plan)s costs less per seat (%(price)s instead of %(now_price)s a year), so the change waits for "
                "the end of the period you have paid for: you stay on %(now)s until %(last_day)s, and from %(when)s "
                "you are on %(plan)s. Nothing is credited for the rest of this period. You can undo the change until "
                "then."
            )
        )
        return _confirmation(
            request,
            service=services.subscription_change_plan,
            kwargs={"subscription": sub, "plan": plan},
            title=_("Change to %(plan)s on %(when)s") % said,
            intro=cheaper % said,
            done=_("Scheduled: you move to the %(plan)s plan on %(when)s. You can undo this until then.") % said,
            params={"plan": plan.code},
            until=waits_until,
        )
    said = {"plan": plan.name, "now": sub.plan.name}
    intro = (
        _(
            "From tomorrow you are on %(plan)s: the unused days of %(now)s are credited and the "
            "rest of this period is charged at the new price."
        )
        % said
    )
    if sub.pending_plan is not None:
        intro += " " + _("This replaces your scheduled change to %(pending)s.") % {"pending": sub.pending_plan.name}
    return _confirmation(
        request,
        service=services.subscription_change_plan,
        kwargs={"subscription": sub, "plan": plan},
        title=_("Change to %(plan)s") % said,
        intro=intro,
        done=_("You are now on the %(plan)s plan.") % said,
        params={"plan": plan.code},
    )


@billing_required
@_live_required
def set_seats(request, sub: Subscription):
    """Fixed-seat plans: buy more seats (charged) or fewer (per the plan's seat_removal)."""
    form = SeatsForm(_params(request))
    if not form.is_valid():
        messages.error(request, _("Give the number of seats to pay for."))
        return redirect(_detail_url())
    seats = form.cleaned_data["seats"]
    return _confirmation(
        request,
        service=services.subscription_set_seats,
        kwargs={"subscription": sub, "seats": seats},
        title=_("Pay for %(seats)s seats") % {"seats": seats},
        intro=(
            _("You pay for %(seats)s seats now.") % {"seats": sub.bought_seats}
            if sub.plan.seat_mode == SeatMode.FIXED
            else _("Seats on the %(plan)s plan follow your members.") % {"plan": sub.plan.name}
        ),
        done=_("You now pay for %(seats)s seats.") % {"seats": seats},
        params={"seats": seats},
    )


@billing_required
@_live_required
def cancel(request, sub: Subscription):
    """Ask why (stored for support), then the usual preview → confirm of what happens at period end."""
    locale = _locale(request)
    form = CancelForm(_params(request) if "reason" in _params(request) else None)
    if not form.is_bound or not form.is_valid():
        return render(
            request,
            "subscriptions/cancel_reason.html",
            {"form": form, "sub": sub, "locale": locale, "back": _detail_url()},
        )
    reason, comment = form.cleaned_data["reason"], form.cleaned_data["comment"]
    return _confirmation(
        request,
        service=services.subscription_cancel,
        kwargs={"subscription": sub, "reason": reason, "comment": comment},
        title=_("Cancel the subscription"),
        intro=(
            _(
                "The subscription stays as it is until %(day)s and then ends: nothing more "
                "is invoiced for it and the product closes for everyone. You can undo this until then."
            )
            % {"day": day(sub.period_end, locale)}
        ),
        done=_("Canceled. The subscription ends on %(day)s; you can undo this until then.")
        % {"day": day(sub.period_end, locale)},
        params={"reason": reason, "comment": comment},
    )


@billing_required
@_live_required
def request_refund(request, sub: Subscription):
    return _confirmation(
        request,
        service=services.subscription_request_refund,
        kwargs={"subscription": sub},
        title=_("Cancel with a full refund"),
        intro=_(
            "The money-back guarantee refunds every paid invoice of this subscription, which ends today "
            "and closes the product for everyone."
        ),
        done=_("Refunded, and the subscription has ended."),
        params={},
    )


# ---------------------------------------------------------------- changes that cost nothing now


def _act(request, service, sub: Subscription, done: str):
    try:
        service(subscription=sub, on=today(request.account), by=request.user)
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return redirect(_detail_url())


@billing_required
@require_POST
@_live_required
def undo_cancel(request, sub: Subscription):
    return _act(
        request, services.subscription_undo_cancel, sub, _("Cancellation undone: the subscription renews as before.")
    )


@billing_required
@require_POST
@_live_required
def undo_plan_change(request, sub: Subscription):
    pending = sub.pending_plan.name if sub.pending_plan is not None else ""
    return _act(
        request,
        services.subscription_undo_plan_change,
        sub,
        _("The change to %(pending)s is undone: you stay on %(plan)s.") % {"pending": pending, "plan": sub.plan.name},
    )


@billing_required
@require_POST
@_live_required
def apply_coupon(request, sub: Subscription):
    form = CouponForm(request.POST)
    if form.is_valid():
        try:
            redemption = services.subscription_apply_coupon(
                subscription=sub, code=form.cleaned_data["coupon"], on=today(request.account), by=request.user
            )
        except Refused as refused:
            form.add_error("coupon", str(refused))
        else:
            applied = _("Coupon %(code)s applied: it discounts from your next renewal.")
            messages.success(request, applied % {"code": redemption.coupon.code})
            return redirect(_detail_url())
    return render(request, "subscriptions/subscription_detail.html", _detail_context(request, coupon_form=form))


@billing_required
@require_POST
@_live_required
def accept_trial_offer(request, sub: Subscription):
    offer = money(sub.plan.trial_offer, _locale(request)) if sub.plan.trial_offer is not None else ""
    return _act(
        request,
        services.subscription_accept_trial_offer,
        sub,
        _("Offer taken: %(offer)s off your first monthly invoice.") % {"offer": offer},
    )


# ---------------------------------------------------------------- Settings › Members: the cost of a change


def _who(hidden: dict) -> list[tuple[str, str]]:
    """The people an invitation confirmation names, each with the role they get: [(email, role label)]."""
    emails = [e.strip() for e in hidden.get("emails", "").split(",") if e.strip()]
    role = hidden.get("role")
    label = Membership.Role(role).label if role in Membership.Role.values else ""
    return [(email, label) for email in emails]


def membership_change_confirmation(request, *, service, kwargs: dict, title: str, action: str, hidden: dict):
    """Show what a membership change costs before it is made (SPEC §3 Settings › Members).

    The first POST (no fingerprint) answers with a confirmation page: the cost in
    words (`previews.cost_impact`) and the documents the change would write. The
    second POST, carrying the fingerprint, runs it through `previews.confirm`.
    Returns (page, None) to show a page, or (None, result) once the change is
    made; `result.value` is what the service returned. A refusal raises Refused,
    for the caller to show next to its field. Without a paid subscription (none,
    or a trial) seats cost nothing, and the change is made at once.
    """
    locale = _locale(request)
    expected = request.POST.get("fingerprint")
    changed = False
    sub = _seen(request, live_subscription(request.account))
    if not expected and (sub is None or sub.is_trialing):
        return None, Preview(value=service(**kwargs))  # no paid subscription: seats cost nothing
    if expected:
        ok, result = confirm(service, expected=expected, **kwargs)
        if ok:
            summary = outcome_summary(result, locale)
            if summary:
                messages.info(request, summary)
            return None, result
        changed = True
    else:
        result = preview(service, **kwargs)
    if result.refused:
        raise Refused(result.refused, field=result.refused_field)
    page = render(
        request,
        "subscriptions/member_confirm.html",
        {
            "title": title,
            "impact": cost_impact(result, locale),
            "who": _who(hidden),
            "result": result,
            "fingerprint": result.fingerprint(),
            "hidden": hidden,
            "action": action,
            "changed": changed,
            "locale": locale,
        },
    )
    return page, None
