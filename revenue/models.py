"""Monthly revenue snapshots (issue 21), written by the daily run and `backfill_revenue`, read by the Revenue page.

Amounts are Decimals in the row's currency (`money()` makes them Money); rows of two currencies are never added.
"""

from django.db import models
from moneyed import Money


class SubscriptionMonth(models.Model):
    """One subscription at the end of a month (or on `as_of`, the last snapshot day, for the month under way)."""

    month = models.DateField(help_text="The month's first day.")
    as_of = models.DateField()
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    mrr = models.DecimalField(max_digits=14, decimal_places=2)
    paid_seats = models.PositiveIntegerField()
    seats_in_use = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "month"], name="one_snapshot_per_month")]
        indexes = [models.Index(fields=["month", "account"]), models.Index(fields=["account", "month"])]

    def __str__(self):
        return f"{self.subscription_id} {self.month:%Y-%m}: {self.mrr} {self.currency}"


MONEY_FIELDS = (
    "opening",
    "new",
    "seat_expansion",
    "upgrade",
    "seat_contraction",
    "downgrade",
    "churn",
    "reactivation",
    "closing",
    "invoiced",
    "recognised",
    "deferred",
)


def _amount(**kw):
    return models.DecimalField(max_digits=16, decimal_places=2, default=0, **kw)


class RevenueMonth(models.Model):
    """One currency's month: MRR movements, customers and seats, retention, deferred revenue."""

    currency = models.CharField(max_length=3)
    month = models.DateField(help_text="The month's first day.")
    as_of = models.DateField(help_text="The day the closing figures describe: the month's last day, or today.")
    opening = _amount(help_text="MRR at the end of the month before.")
    new = _amount()
    seat_expansion = _amount()
    upgrade = _amount(help_text="Plan or cycle upgrades, and coupons ending.")
    seat_contraction = _amount()
    downgrade = _amount(help_text="Plan or cycle downgrades, and coupons starting.")
    churn = _amount()
    reactivation = _amount()
    closing = _amount()
    customers_opening = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0, help_text="Accounts with MRR above 0 at the close.")
    customers_churned = models.PositiveIntegerField(default=0)
    paid_seats = models.PositiveIntegerField(default=0)
    seats_in_use = models.PositiveIntegerField(default=0)
    nrr = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, help_text="Over 12 months.")
    grr = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, help_text="Over 12 months.")
    invoiced = _amount(help_text="Invoice lines issued in the month, less credit notes, before tax.")
    recognised = _amount(help_text="Earned in the month, day by day over each line's period.")
    deferred = _amount(help_text="Invoiced but not yet earned at the month's end.")

    class Meta:
        ordering = ["currency", "month"]
        verbose_name = "revenue month"
        verbose_name_plural = "revenue"
        constraints = [models.UniqueConstraint(fields=["currency", "month"], name="one_revenue_month_per_currency")]

    def __str__(self):
        return f"{self.currency} {self.month:%Y-%m}"

    def money(self, name: str) -> Money:
        return Money(getattr(self, name), self.currency)

    @property
    def movements_total(self):
        return sum(getattr(self, n) for n in MONEY_FIELDS[1:8])

    @property
    def balances(self) -> bool:
        return self.opening + self.movements_total == self.closing
