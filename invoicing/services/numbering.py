"""Gapless document numbers per series and year (SPEC §2.6)."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import F

from common.dryrun import is_dry_run, provisional_offset, read_once
from invoicing.models import NumberSeries

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"


@dataclass(frozen=True)
class SeriesFormat:
    prefix: str
    padding: int = 6
    yearly_reset: bool = True


def series_format(prefix: str) -> SeriesFormat:
    """settings.NUMBER_SERIES may give a series another printed prefix, padding or no yearly reset."""
    custom = getattr(settings, "NUMBER_SERIES", {}).get(prefix, {})
    return SeriesFormat(**{"prefix": prefix, **custom})


def number_allocate(*, prefix: str, on: date) -> str:
    """The next number of a series, gapless: the counter row is locked until the caller commits.

    In a dry run (a preview) a provisional number, without the lock; nothing is consumed.
    """
    return numbers_allocate(prefix=prefix, on=on, count=1)[0]


def numbers_allocate(*, prefix: str, on: date, count: int) -> list[str]:
    """The next `count` numbers of a series in one step, gapless, like `number_allocate`."""
    fmt = series_format(prefix)
    year = on.year if fmt.yearly_reset else 0
    if is_dry_run():
        # A preview: the numbers these would most likely get, read without the lock and never consumed.
        counter = NumberSeries.objects.filter(prefix=prefix, year=year).values_list("last_value", flat=True)
        current = read_once(("number series", prefix, year), counter.first)
        last = (current or 0) + provisional_offset(f"{prefix}-{year}", count) + count
    else:
        series, _ = NumberSeries.objects.get_or_create(prefix=prefix, year=year)
        NumberSeries.objects.filter(pk=series.pk).select_for_update().update(last_value=F("last_value") + count)
        last = NumberSeries.objects.values_list("last_value", flat=True).get(pk=series.pk)
    middle = f"{year}-" if fmt.yearly_reset else ""
    return [f"{fmt.prefix}-{middle}{value:0{fmt.padding}d}" for value in range(last - count + 1, last + 1)]
