"""What the Revenue page shows, as tables of text cells (issue 21).

Every table is a `Table`: headers and rows of cells, a cell being text or (text, link). The page renders
them and the CSV export writes the same cells' text, so the CSV is the table. A constant number of
queries whatever the size: the monthly figures come from `RevenueMonth`, receivables from one grouped
query over open invoices.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from moneyed import Money

from accounts.models import Account
from billing import revenue as core
from billing.calendar import add_months
from billing.proration import amount_text
from invoicing.models import Invoice
from revenue.models import RevenueMonth, SubscriptionMonth
from subscriptions.models import SeatChange

LIST_ROWS = 20
RECEIVABLES = ("receivables", "overdue", "locked")


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def text_rows(self) -> list[list[str]]:
        """The cells' text: what the CSV export writes."""
        return [[text for text, _ in row] for row in self.cells()]

    def cells(self) -> list[list[tuple[str, str | None]]]:
        """Each cell as (text, link or None): what the page shows."""
        return [[cell if isinstance(cell, tuple) else (cell, None) for cell in row] for row in self.rows]


def _amount(value: Decimal, currency: str) -> str:
    return amount_text(Money(value, currency))


def _rate(value) -> str:
    return "–" if value is None else f"{Decimal(value) * 100:.1f}%"


def currencies() -> list[str]:
    return list(RevenueMonth.objects.order_by("currency").values_list("currency", flat=True).distinct())


def months_of(currency: str, first: date, last: date) -> list[RevenueMonth]:
    """Every month of the range, an empty (unsaved) one where there is no snapshot."""
    found = {m.month: m for m in RevenueMonth.objects.filter(currency=currency, month__gte=first, month__lte=last)}
    return [
        found.get(m) or RevenueMonth(currency=currency, month=m, as_of=add_months(m, 1) - timedelta(days=1))
        for m in core.months(first, last)
    ]


def mrr_table(months: list[RevenueMonth], currency: str) -> Table:
    t = Table("mrr", "MRR and ARR", ["Month", f"MRR ({currency})", f"ARR ({currency})", "Customers", "As of"])
    for m in months:
        t.rows.append(
            [
                f"{m.month:%Y-%m}",
                _amount(m.closing, currency),
                _amount(m.closing * 12, currency),
                str(m.customers),
                m.as_of.isoformat(),
            ]
        )
    return t


def movements_table(months: list[RevenueMonth], currency: str) -> Table:
    names = [core.MOVEMENT_LABELS[n] for n in core.MOVEMENTS]
    t = Table(
        "movements",
        "MRR movements",
        ["Month", "Opening", *names, "Closing", "Check"],
        note=f"Amounts in {currency} per month. Check: ✓ when opening + movements = closing.",
    )
    for m in months:
        check = "✓" if m.balances else f"off by {_amount(m.closing - m.opening - m.movements_total, currency)}"
        t.rows.append(
            [
                f"{m.month:%Y-%m}",
                _amount(m.opening, currency),
                *(_amount(getattr(m, n), currency) for n in core.MOVEMENTS),
                _amount(m.closing, currency),
                check,
            ]
        )
    return t


def retention_table(months: list[RevenueMonth]) -> Table:
    t = Table(
        "retention",
        "Retention and seats",
        [
            "Month",
            "NRR (12 months)",
            "GRR (12 months)",
            "Customer churn (month)",
            "Customers",
            "Paid seats",
            "Seats in use",
            "Free seats",
            "Average seats per account",
        ],
    )
    for m in months:
        churn = Decimal(m.customers_churned) / m.customers_opening if m.customers_opening else None
        free = max(m.paid_seats - m.seats_in_use, 0)
        avg = f"{Decimal(m.paid_seats) / m.customers:.1f}" if m.customers else "–"
        t.rows.append(
            [
                f"{m.month:%Y-%m}",
                _rate(m.nrr),
                _rate(m.grr),
                _rate(churn),
                str(m.customers),
                str(m.paid_seats),
                str(m.seats_in_use),
                str(free),
                avg,
            ]
        )
    return t


def deferred_table(months: list[RevenueMonth], currency: str) -> Table:
    t = Table(
        "deferred",
        "Deferred revenue",
        ["Month", f"Invoiced ({currency})", f"Recognised ({currency})", f"Deferred at month end ({currency})"],
        note="Invoice lines before tax, less credit notes, earned day by day over each line's period.",
    )
    for m in months:
        t.rows.append(
            [
                f"{m.month:%Y-%m}",
                _amount(m.invoiced, currency),
                _amount(m.recognised, currency),
                _amount(m.deferred, currency),
            ]
        )
    return t


def _outstanding():
    return F("amount_due") - F("amount_paid") - F("amount_credited")


def _bounds(today: date) -> dict[str, Q]:
    """Each age bucket of `billing.revenue.age_bucket` as a filter on the due day."""
    d = lambda n: today - timedelta(days=n)  # noqa: E731
    return {
        "current": Q(due_on__gte=today),
        "1-14": Q(due_on__lt=today, due_on__gte=d(14)),
        "15-30": Q(due_on__lt=d(14), due_on__gte=d(30)),
        "31-60": Q(due_on__lt=d(30), due_on__gte=d(60)),
        "over-60": Q(due_on__lt=d(60)),
    }


def receivables_tables(currency: str, today: date) -> list[Table]:
    """Open invoices by age (one query), the oldest ones with links, and the locked accounts."""
    open_ = Invoice.objects.filter(status=Invoice.Status.OPEN, currency=currency)
    aggregates = {}
    for name, q in _bounds(today).items():
        aggregates[f"n_{name}"] = Count("id", filter=q)
        aggregates[f"s_{name}"] = Sum(_outstanding(), filter=q)
    got = open_.aggregate(**aggregates)
    url = reverse("admin:invoicing_invoice_changelist") + "?status__exact=open"
    ages = Table(
        "receivables",
        "Receivables by age",
        ["Age", "Open invoices", f"Amount due ({currency})"],
        note="Open invoices, by days past their due day.",
    )
    total_n, total = 0, Decimal(0)
    for name in core.AGE_BUCKETS:
        n, s = got[f"n_{name}"] or 0, got[f"s_{name}"] or Decimal(0)
        total_n, total = total_n + n, total + s
        ages.rows.append([(core.AGE_LABELS[name], url), str(n), _amount(s, currency)])
    ages.rows.append(["Total", str(total_n), _amount(total, currency)])

    oldest = Table("overdue", "Oldest overdue invoices", ["Invoice", "Account", "Due", "Days late", "Amount due"])
    for inv in (
        open_.filter(due_on__lt=today)
        .select_related("account")
        .annotate(left=_outstanding())
        .order_by("due_on", "id")[:LIST_ROWS]
    ):
        oldest.rows.append(
            [
                (inv.number or f"Draft {inv.pk}", reverse("admin:invoicing_invoice_change", args=[inv.pk])),
                (inv.account.name, reverse("admin:accounts_account_change", args=[inv.account_id])),
                inv.due_on.isoformat(),
                str((today - inv.due_on).days),
                _amount(inv.left, currency),
            ]
        )

    locked_qs = Account.objects.filter(locked_on__isnull=False, currency=currency)
    locked = Table("locked", "Locked accounts", ["Account", "Locked on"])
    rows = list(locked_qs.order_by("locked_on", "id").values_list("pk", "name", "locked_on")[: LIST_ROWS + 1])
    for pk, name, on in rows[:LIST_ROWS]:
        locked.rows.append([(name, reverse("admin:accounts_account_change", args=[pk])), on.isoformat()])
    if len(rows) > LIST_ROWS:
        locked.note = "The longest locked; all of them are in the accounts list, filtered by locked."
    return [ages, oldest, locked]


@dataclass
class RevenuePage:
    currency: str | None
    currencies: list[str]
    first: date
    last: date
    months: list[RevenueMonth]
    tables: list[Table]


def revenue_page(
    *,
    currency: str | None,
    first: date,
    last: date,
    today: date,
    trim_empty_start: bool = False,
    only: str | None = None,
) -> RevenuePage:
    """Every table of the page, or the table `only` (a CSV export).

    `trim_empty_start`: begin at the first month with figures (a default range).
    """
    available = currencies()
    if currency not in available:
        currency = available[0] if available else None
    if currency is None:
        return RevenuePage(None, available, first, last, [], [])
    months = months_of(currency, first, last)
    if trim_empty_start:
        while len(months) > 1 and months[0].pk is None:
            months.pop(0)
        first = months[0].month
    receivables = RECEIVABLES if only is None or only in RECEIVABLES else ()
    tables = [
        mrr_table(months, currency),
        movements_table(months, currency),
        retention_table(months),
        *(receivables_tables(currency, today) if receivables else []),
        deferred_table(months, currency),
    ]
    if only is not None:
        tables = [t for t in tables if t.key == only]
    return RevenuePage(currency, available, first, last, months, tables)


# ---------------------------------------------------------------- one account


@dataclass
class AccountRevenue:
    currency: str
    mrr: Money | None
    months: list[tuple[date, Decimal]]
    seats: list[tuple[date, int, int]]
    invoiced: Money
    paid: Money


def account_revenue(account: Account, *, since: date) -> AccountRevenue | None:
    """An account's MRR by month, its seat ledger since `since`, and what it was ever invoiced and paid."""
    currency = account.currency
    if not currency:
        return None
    months = list(
        SubscriptionMonth.objects.filter(account=account, month__gte=core.month_start(since))
        .order_by("month")
        .values("month")
        .annotate(mrr=Sum("mrr"))
        .values_list("month", "mrr")
    )
    seats = list(
        SeatChange.objects.filter(subscription__account=account, on__gte=since)
        .order_by("on", "id")
        .values_list("on", "paid_seats", "seats_in_use")
    )
    issued = [Invoice.Status.OPEN, Invoice.Status.PAID, Invoice.Status.UNCOLLECTIBLE]
    money = Invoice.objects.filter(account=account, status__in=issued).aggregate(
        invoiced=Sum("total"), paid=Sum("amount_paid")
    )
    return AccountRevenue(
        currency,
        Money(months[-1][1], currency) if months else None,
        months,
        seats,
        Money(money["invoiced"] or 0, currency),
        Money(money["paid"] or 0, currency),
    )
