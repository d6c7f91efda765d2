"""Every change to a subscription (SPEC §2.1–2.5), one transaction each, one module per topic.

Services load rows, ask the pure core (`billing`) which lines a change produces, and write the
answer through `invoicing.services`. Reads live in `subscriptions.selectors`.

- `purchase`: buying a plan or starting its trial (§2.1)
- `seats`: seats following members, bought seats, the minimum commitment (§2.3)
- `terms`: cycle switches, plan changes, keeping a plan's price for its subscribers (§2.4)
- `renewal`: a period's first day, for one subscription or thousands (§2.4)
- `lifecycle`: cancel and undo, trial offer and extension, the money-back guarantee (§2.4, §2.5)
- `coupons`: redeeming and counting coupons (§2.5)
- `dunning`: past due, lock and unlock (§2.5)
- `daily_run`: the daily run that drives renewals, expiries, true-ups and dunning
"""

from subscriptions.services.coupons import subscription_apply_coupon
from subscriptions.services.daily_run import RunSummary, billing_run, renewals_run, subscriptions_due
from subscriptions.services.dunning import (
    account_after_payment,
    account_unlock,
    dunning_run,
    subscription_sync_status,
)
from subscriptions.services.lifecycle import (
    REFUND_VOID_REASON,
    subscription_accept_trial_offer,
    subscription_cancel,
    subscription_cancel_now,
    subscription_extend_trial,
    subscription_request_refund,
    subscription_undo_cancel,
)
from subscriptions.services.purchase import subscription_create, subscription_start
from subscriptions.services.seats import (
    SeatOutcome,
    subscription_set_minimum_seats,
    subscription_set_seats,
    subscription_sync_seats,
)
from subscriptions.services.terms import (
    plan_keep_price_for_subscribers,
    subscription_change_plan,
    subscription_switch_cycle,
    subscription_undo_plan_change,
)

__all__ = [
    "REFUND_VOID_REASON",
    "RunSummary",
    "SeatOutcome",
    "account_after_payment",
    "account_unlock",
    "billing_run",
    "dunning_run",
    "plan_keep_price_for_subscribers",
    "renewals_run",
    "subscription_accept_trial_offer",
    "subscription_apply_coupon",
    "subscription_cancel",
    "subscription_cancel_now",
    "subscription_change_plan",
    "subscription_create",
    "subscription_extend_trial",
    "subscription_request_refund",
    "subscription_set_minimum_seats",
    "subscription_set_seats",
    "subscription_start",
    "subscription_switch_cycle",
    "subscription_sync_seats",
    "subscription_sync_status",
    "subscription_undo_cancel",
    "subscription_undo_plan_change",
    "subscriptions_due",
]
