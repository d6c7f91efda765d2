"""Charts drawn on the server as SVG (issue 21): no script, no CDN, readable without JavaScript."""

from datetime import date
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from billing import revenue as core

MOVEMENT_COLOURS = {
    core.NEW: "#2e7d32",
    core.REACTIVATION: "#66bb6a",
    core.SEAT_EXPANSION: "#1565c0",
    core.UPGRADE: "#42a5f5",
    core.SEAT_CONTRACTION: "#ef6c00",
    core.DOWNGRADE: "#ffb74d",
    core.CHURN: "#c62828",
}


def _nice_max(value: Decimal) -> Decimal:
    """A round top for an axis: 1, 2 or 5 × a power of ten, at least `value`."""
    if value <= 0:
        return Decimal(1)
    exp = len(str(int(value))) - 1
    for step in (1, 2, 5, 10):
        top = Decimal(step) * Decimal(10) ** exp
        if top >= value:
            return top
    return Decimal(10) ** (exp + 1)


def _fmt(value: Decimal) -> str:
    return f"{value:,.0f}"


def mrr_chart(months, currency: str, *, width: int = 760, height: int = 240) -> str:
    """MRR per month as bars, with ARR (MRR × 12) on the right axis."""
    left, right, top, bottom = 70, 70, 20, 30
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = _nice_max(max((m.closing for m in months), default=Decimal(0)))
    n = max(len(months), 1)
    slot = inner_w / n
    bars, labels = [], []
    for i, m in enumerate(months):
        h = float(m.closing / peak) * inner_h if peak else 0
        x = left + i * slot + slot * 0.15
        bars.append(
            (f"{x:.1f}", f"{top + inner_h - h:.1f}", f"{slot * 0.7:.1f}", f"{h:.1f}", f"{m.month:%Y-%m}", m.closing)
        )
        if n <= 14 or i % max(1, n // 12) == 0:
            labels.append((f"{left + i * slot + slot / 2:.1f}", f"{height - 10}", f"{m.month:%b %y}"))
    grid = []
    for k in range(5):
        v = peak * k / 4
        y = top + inner_h - inner_h * k / 4
        grid.append((f"{y:.1f}", f"{left - 6}", f"{width - right + 6}", _fmt(v), _fmt(v * 12), left, width - right))
    return format_html(
        '<svg class="revenue-chart" role="img" aria-label="MRR per month in {c}" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
        '<text x="{l}" y="12" fill="#555">MRR ({c})</text>'
        '<text x="{rx}" y="12" fill="#555" text-anchor="end">ARR ({c})</text>'
        "{grid}{bars}{labels}</svg>",
        c=currency,
        w=width,
        h=height,
        l=left,
        rx=width - 4,
        grid=format_html_join(
            "",
            '<line x1="{5}" x2="{6}" y1="{0}" y2="{0}" stroke="#ddd"/>'
            '<text x="{1}" y="{0}" text-anchor="end" dominant-baseline="middle" fill="#555">{3}</text>'
            '<text x="{2}" y="{0}" dominant-baseline="middle" fill="#555">{4}</text>',
            grid,
        ),
        bars=format_html_join(
            "",
            '<rect x="{0}" y="{1}" width="{2}" height="{3}" fill="#417690"><title>{4}: MRR {5}</title></rect>',
            bars,
        ),
        labels=format_html_join("", '<text x="{0}" y="{1}" text-anchor="middle" fill="#333">{2}</text>', labels),
    )


def movements_chart(months, currency: str, *, width: int = 760, height: int = 240) -> str:
    """Each month's movements stacked: gains above the zero line, losses below."""
    left, right, top, bottom = 70, 150, 15, 30
    inner_w, inner_h = width - left - right, height - top - bottom
    ups = [sum((max(getattr(m, n), 0) for n in core.MOVEMENTS), Decimal(0)) for m in months]
    downs = [sum((min(getattr(m, n), 0) for n in core.MOVEMENTS), Decimal(0)) for m in months]
    peak = _nice_max(max([*ups, *(-d for d in downs), Decimal(0)]))
    zero_y = top + inner_h / 2
    scale = (inner_h / 2) / float(peak)
    n = max(len(months), 1)
    slot = inner_w / n
    rects = []
    for i, m in enumerate(months):
        x = left + i * slot + slot * 0.15
        up, down = zero_y, zero_y
        for name in core.MOVEMENTS:
            v = getattr(m, name)
            if not v:
                continue
            h = abs(float(v)) * scale
            if v > 0:
                up -= h
                y = up
            else:
                y = down
                down += h
            rects.append(
                (
                    f"{x:.1f}",
                    f"{y:.1f}",
                    f"{slot * 0.7:.1f}",
                    f"{h:.1f}",
                    MOVEMENT_COLOURS[name],
                    f"{m.month:%Y-%m}",
                    core.MOVEMENT_LABELS[name],
                    v,
                )
            )
    labels = [
        (f"{left + i * slot + slot / 2:.1f}", height - 10, f"{m.month:%b %y}")
        for i, m in enumerate(months)
        if n <= 14 or i % max(1, n // 12) == 0
    ]
    legend = [
        (
            width - right + 12,
            top + 16 * k,
            width - right + 26,
            top + 16 * k + 9,
            MOVEMENT_COLOURS[name],
            core.MOVEMENT_LABELS[name],
        )
        for k, name in enumerate(core.MOVEMENTS)
    ]
    return format_html(
        '<svg class="revenue-chart" role="img" aria-label="MRR movements per month in {c}" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
        '<line x1="{l}" x2="{r}" y1="{z}" y2="{z}" stroke="#999"/>'
        '<text x="{lt}" y="{ty}" text-anchor="end" fill="#555">+{p}</text>'
        '<text x="{lt}" y="{z}" text-anchor="end" dominant-baseline="middle" fill="#555">0</text>'
        '<text x="{lt}" y="{by}" text-anchor="end" fill="#555">−{p}</text>'
        "{rects}{labels}{legend}</svg>",
        c=currency,
        w=width,
        h=height,
        l=left,
        r=width - right,
        z=f"{zero_y:.1f}",
        lt=left - 6,
        ty=top + 8,
        by=top + inner_h,
        p=_fmt(peak),
        rects=format_html_join(
            "",
            '<rect x="{0}" y="{1}" width="{2}" height="{3}" fill="{4}"><title>{5} {6}: {7}</title></rect>',
            rects,
        ),
        labels=format_html_join("", '<text x="{0}" y="{1}" text-anchor="middle" fill="#333">{2}</text>', labels),
        legend=format_html_join(
            "",
            '<rect x="{0}" y="{1}" width="10" height="10" fill="{4}"/><text x="{2}" y="{3}" fill="#333">{5}</text>',
            legend,
        ),
    )


def seats_chart(points: list[tuple[date, int, int]], *, width: int = 320, height: int = 80) -> str:
    """A small step chart of paid seats (solid) and seats in use (dashed) over time."""
    if not points:
        return mark_safe("")
    left, right, top, bottom = 24, 8, 8, 16
    inner_w, inner_h = width - left - right, height - top - bottom
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)
    peak = max(max(p[1], p[2]) for p in points) or 1

    def path(index: int) -> str:
        out = []
        prev_y = None
        for on, *values in points:
            x = left + inner_w * (on - first).days / span
            y = top + inner_h - inner_h * values[index] / peak
            if prev_y is not None:
                out.append(f"L{x:.1f},{prev_y:.1f}")
            out.append(f"{'M' if not out else 'L'}{x:.1f},{y:.1f}")
            prev_y = y
        out.append(f"L{left + inner_w:.1f},{prev_y:.1f}")
        return " ".join(out)

    return format_html(
        '<svg class="seats-chart" role="img" aria-label="Seats over time" viewBox="0 0 {w} {h}" width="{w}" '
        'height="{h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="10">'
        '<path d="{paid}" fill="none" stroke="#417690" stroke-width="2"/>'
        '<path d="{used}" fill="none" stroke="#ef6c00" stroke-width="1.5" stroke-dasharray="4 2"/>'
        '<text x="2" y="{ty}" fill="#555">{peak}</text><text x="2" y="{by}" fill="#555">0</text>'
        '<text x="{l}" y="{h2}" fill="#555">{first}</text>'
        '<text x="{r}" y="{h2}" fill="#555" text-anchor="end">{last}</text></svg>',
        w=width,
        h=height,
        paid=path(0),
        used=path(1),
        ty=top + 6,
        by=top + inner_h,
        peak=peak,
        l=left,
        r=width - right,
        h2=height - 3,
        first=first.isoformat(),
        last=last.isoformat(),
    )
