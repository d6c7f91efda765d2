"""The email that carries an issued invoice or credit note, with its PDF attached (SPEC §2.6)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Account, Membership
from invoicing.documents import data_of, document_context, receipt_context
from invoicing.formatting import document_language, document_locale, money
from invoicing.models import Invoice


def recipients(account: Account) -> list[str]:
    """The account's billing email, or its owner's when it has none."""
    if account.billing_email:
        return [account.billing_email]
    owner = account.memberships.filter(role=Membership.Role.OWNER).values_list("email", flat=True).first()
    return [owner] if owner else []


def subject(document, total: str) -> str:
    """“Invoice INV-2026-000001 — $7.00” (“Rechnung …” in German: the active language)."""
    kind = gettext("Invoice") if isinstance(document, Invoice) else gettext("Credit note")
    return f"{kind} {document.number} — {total}"


def document_email(document, content: bytes) -> EmailMessage:
    """The email, in the document's language (the buyer's frozen invoice language)."""
    data = data_of(document)
    with translation.override(document_language(data["buyer"])):
        return _document_email(document, data, content)


def _document_email(document, data: dict, content: bytes) -> EmailMessage:
    ctx, locale = document_context(data), document_locale(data["buyer"])
    template = "emails/invoice_issued.txt" if isinstance(document, Invoice) else "emails/invoice_credit_note.txt"
    body = render_to_string(
        template,
        {
            **ctx,
            "number": document.number,
            "buyer_name": ctx["buyer"].get("name") or document.account.name,
            "seller_name": ctx["seller"]["name"],
            "bank": ctx["seller"].get("bank", ""),
            "invoice_number": ctx["doc"].get("invoice_number", ""),
            "credit_used": money(data["credit_applied"], locale) if data.get("credit_applied") else "",
        },
    )
    message = EmailMessage(
        subject=subject(document, ctx["total"]),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients(document.account),
    )
    message.attach(f"{document.number}.pdf", content, "application/pdf")
    return message


def document_send(document, content: bytes) -> None:
    """Send it; raises if the mail server refuses, so the caller can leave it for the next run."""
    message = document_email(document, content)
    if not message.to:
        raise ValueError(f"{document.account} has no billing email and no owner to send {document.number} to.")
    message.send(fail_silently=False)


def receipt_email(receipt) -> EmailMessage:
    """The receipt's email, in the buyer's invoice language."""
    account = receipt.payment.invoice.account
    with translation.override(document_language(receipt.payment.invoice.buyer or {})):
        ctx = receipt_context(receipt)
        return EmailMessage(
            subject=gettext("Receipt %(number)s — %(amount)s paid")
            % {"number": receipt.number, "amount": ctx["amount"]},
            body=render_to_string(
                "emails/receipt.txt",
                {**ctx, "buyer_name": ctx["buyer"].get("name") or account.name, "seller_name": ctx["seller"]["name"]},
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients(account),
        )


def receipt_send(receipt, content: bytes) -> None:
    """Email a payment receipt with its PDF; raises if it cannot go, so the daily run retries it."""
    account = receipt.payment.invoice.account
    message = receipt_email(receipt)
    if not message.to:
        raise ValueError(f"{account} has no billing email and no owner to send {receipt.number} to.")
    message.attach(f"{receipt.number}.pdf", content, "application/pdf")
    message.send(fail_silently=False)
