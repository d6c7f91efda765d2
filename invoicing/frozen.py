"""An issued document is never edited, a money record never edited or deleted (SPEC §2.6, STYLE habit 7).

Once an invoice leaves draft its amounts, lines, buyer and number are frozen:
only what records its life afterwards (payment, status, stored PDF, email,
reminders) may change, and its status only moves forward. A credit note is
issued numbered, so it is frozen from the start. The guards below sit under
every path that writes rows — services, the admin, the API, model saves and
queryset updates — and raise `Refused` instead of writing.
"""

from django.db.models.signals import pre_delete, pre_save

from common.errors import Refused
from invoicing.models import CreditEntry, CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment, Refund

Status = Invoice.Status

# What may still change on an issued invoice or credit note.
INVOICE_MUTABLE = frozenset(
    {
        "status",
        "amount_paid",
        "amount_paid_currency",
        "amount_credited",
        "amount_credited_currency",
        "paid_on",
        "pdf",
        "emailed_at",
        "reminders_sent",
    }
)
CREDIT_NOTE_MUTABLE = frozenset({"pdf", "emailed_at"})

# Money records are append-only (a correction is a new entry: a refund, a credit entry). The only
# changes allowed: a refund learns its gateway id once (it is sent to Stripe after commit), and the
# person who recorded a row may be erased (on_delete=SET_NULL when a user is purged).
LEDGER_SET_ONCE = {Refund: frozenset({"gateway_id"})}
LEDGER_MAY_BECOME_NULL = {Payment: frozenset({"recorded_by_id"}), Refund: frozenset({"created_by_id"})}
LEDGER_NAMES = {CreditEntry: "A credit-ledger entry", Payment: "A payment", Refund: "A refund"}

# Draft → open (or paid when nothing is due) → paid | void | uncollectible.
TRANSITIONS = {
    Status.DRAFT: frozenset(Status.values),
    Status.OPEN: frozenset({Status.OPEN, Status.PAID, Status.VOID, Status.UNCOLLECTIBLE}),
    Status.PAID: frozenset({Status.PAID}),
    Status.VOID: frozenset({Status.VOID}),
    Status.UNCOLLECTIBLE: frozenset({Status.UNCOLLECTIBLE}),
}


def invoice_is_frozen(invoice: Invoice) -> bool:
    """True once the invoice has been finalised: its amounts and lines can no longer change."""
    return invoice.pk is not None and invoice.status != Status.DRAFT


def credit_note_is_frozen(note: CreditNote) -> bool:
    return note.pk is not None and bool(note.number)


def _never_edited(what: str) -> Refused:
    return Refused(
        f"{what} has been issued and is never edited; correct it with a credit note.",
        code="frozen",
    )


def _changed(stored, instance, mutable: frozenset) -> list[str]:
    return [
        f.attname
        for f in instance._meta.concrete_fields
        if f.attname not in mutable and f.value_from_object(stored) != f.value_from_object(instance)
    ]


def check_transition(invoice_number: str, old: str, new: str) -> None:
    if new not in TRANSITIONS[old]:
        raise Refused(
            f"{invoice_number} is {Status(old).label.lower()}; it cannot become {Status(new).label.lower()}.",
            code="transition",
            field="status",
        )


def _guard_invoice(sender, instance: Invoice, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    stored = Invoice.objects.filter(pk=instance.pk).first()
    if stored is None or stored.status == Status.DRAFT:
        return
    fields = set(update_fields) if update_fields is not None else None
    if fields is None or "status" in fields:
        check_transition(stored.number, stored.status, instance.status)
    changed = [f for f in _changed(stored, instance, INVOICE_MUTABLE) if fields is None or f in fields]
    if changed:
        raise _never_edited(stored.number)


def _guard_invoice_line(sender, instance: InvoiceLine, raw=False, **kwargs):
    if raw:
        return
    ids = {instance.invoice_id}
    if instance.pk is not None:
        ids.add(InvoiceLine.objects.filter(pk=instance.pk).values_list("invoice_id", flat=True).first())
    frozen = Invoice.objects.filter(pk__in=[i for i in ids if i]).exclude(status=Status.DRAFT).first()
    if frozen is not None:
        raise _never_edited(frozen.number)


def _guard_credit_note(sender, instance: CreditNote, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    stored = CreditNote.objects.filter(pk=instance.pk).first()
    if stored is None or not stored.number:
        return
    fields = set(update_fields) if update_fields is not None else None
    if [f for f in _changed(stored, instance, CREDIT_NOTE_MUTABLE) if fields is None or f in fields]:
        raise _never_edited(stored.number)


def _issued_note(note_ids) -> CreditNote | None:
    """A numbered credit note that already has its lines: it was issued with them."""
    return CreditNote.objects.filter(pk__in=note_ids, number__isnull=False, lines__isnull=False).first()


def _guard_credit_note_line(sender, instance: CreditNoteLine, raw=False, **kwargs):
    if raw:
        return
    note = _issued_note([instance.credit_note_id])
    if note is not None:
        raise _never_edited(note.number)


def _guard_delete(sender, instance, **kwargs):
    if isinstance(instance, Invoice) and invoice_is_frozen(instance):
        raise _never_edited(instance.number)
    if isinstance(instance, InvoiceLine) and instance.invoice_id and invoice_is_frozen(instance.invoice):
        raise _never_edited(instance.invoice.number)
    if isinstance(instance, CreditNote) and credit_note_is_frozen(instance):
        raise _never_edited(instance.number)
    if isinstance(instance, CreditNoteLine) and credit_note_is_frozen(instance.credit_note):
        raise _never_edited(instance.credit_note.number)


def refuse_frozen_update(queryset, values: dict) -> None:
    """The queryset `update()` / `bulk_update()` path of the same guards."""
    model, fields = queryset.model, {queryset.model._meta.get_field(k).attname for k in values}
    if model is Invoice:
        issued = queryset.exclude(status=Status.DRAFT)
        if fields - INVOICE_MUTABLE and (inv := issued.first()) is not None:
            raise _never_edited(inv.number)
        if "status" in values:
            for inv in issued.exclude(status=values["status"]).only("number", "status"):
                check_transition(inv.number, inv.status, values["status"])
    elif model is InvoiceLine:
        line = queryset.filter(invoice__isnull=False).exclude(invoice__status=Status.DRAFT).first()
        if line is not None:
            raise _never_edited(line.invoice.number)
    elif model is CreditNote:
        if fields - CREDIT_NOTE_MUTABLE and (note := queryset.filter(number__isnull=False).first()) is not None:
            raise _never_edited(note.number)
    elif model is CreditNoteLine:
        line = queryset.filter(credit_note__number__isnull=False).first()
        if line is not None:
            raise _never_edited(line.credit_note.number)


def _append_only(model) -> Refused:
    return Refused(
        f"{LEDGER_NAMES[model]} is a money record and is never edited or deleted; "
        "record the correction as a new entry (a refund or a credit entry).",
        code="append_only",
    )


def _ledger_change_allowed(model, field: str, old, new) -> bool:
    if old == new:
        return True
    if field in LEDGER_MAY_BECOME_NULL.get(model, ()) and new is None:
        return True
    return field in LEDGER_SET_ONCE.get(model, ()) and old == ""


def guard_ledger_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    stored = sender._base_manager.filter(pk=instance.pk).first()
    if stored is None:
        return
    for f in sender._meta.concrete_fields:
        if update_fields is not None and f.name not in update_fields and f.attname not in update_fields:
            continue
        if not _ledger_change_allowed(sender, f.attname, f.value_from_object(stored), f.value_from_object(instance)):
            raise _append_only(sender)


def refuse_ledger_update(queryset, values: dict) -> None:
    """The queryset `update()` / `bulk_update()` path: only the changes `_ledger_change_allowed` lets through."""
    model = queryset.model
    for name, value in values.items():
        field = model._meta.get_field(name).attname
        if field in LEDGER_MAY_BECOME_NULL.get(model, ()) and value is None:
            continue
        if field in LEDGER_SET_ONCE.get(model, ()) and not queryset.exclude(**{field: ""}).exists():
            continue
        if queryset.exists():
            raise _append_only(model)


def refuse_ledger_delete(queryset) -> None:
    if queryset.exists():
        raise _append_only(queryset.model)


def _guard_ledger_delete(sender, instance, **kwargs):
    raise _append_only(sender)


def refuse_frozen_create(objs) -> None:
    """`bulk_create` adds lines to drafts, waiting lines, or a new credit note's first lines only."""
    ids = {o.invoice_id for o in objs if isinstance(o, InvoiceLine) and o.invoice_id}
    if ids and (inv := Invoice.objects.filter(pk__in=ids).exclude(status=Status.DRAFT).first()) is not None:
        raise _never_edited(inv.number)
    notes = {o.credit_note_id for o in objs if isinstance(o, CreditNoteLine)}
    if notes and (note := _issued_note(notes)) is not None:
        raise _never_edited(note.number)


def connect() -> None:
    pre_save.connect(_guard_invoice, sender=Invoice, dispatch_uid="frozen_invoice")
    pre_save.connect(_guard_invoice_line, sender=InvoiceLine, dispatch_uid="frozen_invoice_line")
    pre_save.connect(_guard_credit_note, sender=CreditNote, dispatch_uid="frozen_credit_note")
    pre_save.connect(_guard_credit_note_line, sender=CreditNoteLine, dispatch_uid="frozen_credit_note_line")
    for model in (Invoice, InvoiceLine, CreditNote, CreditNoteLine):
        pre_delete.connect(_guard_delete, sender=model, dispatch_uid=f"frozen_delete_{model.__name__}")
    for model in LEDGER_NAMES:
        pre_save.connect(guard_ledger_save, sender=model, dispatch_uid=f"append_only_{model.__name__}")
        pre_delete.connect(_guard_ledger_delete, sender=model, dispatch_uid=f"append_only_delete_{model.__name__}")
