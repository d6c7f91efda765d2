"""Bank transfer, the default gateway: nothing external; staff record what arrives (SPEC §2.5, issue 8).

Staff record payments with `invoicing.services.invoice_pay` (amount, date, reference):
a partial payment leaves the invoice open with the remainder due, an overpayment goes
to the credit balance.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from moneyed import Money


class BankTransferGateway:
    code = "bank_transfer"

    def collect(self, invoice, *, on=None) -> None:
        """Nothing to do: the invoice and its PDF say how to pay, and staff record the transfer."""

    def refund(self, payment, amount: Money, *, reference: str) -> str:
        """Staff wire the money back by hand; the Refund row is the record."""
        return ""

    def describe(self, account) -> str:
        seller = settings.SELLER
        days = settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS
        said = {"name": seller["name"], "bank": seller["bank"], "days": days}
        if days:
            return (
                _(
                    "Pay by bank transfer to %(name)s, %(bank)s, quoting the invoice number. "
                    "Invoices are due within %(days)s days of the invoice date."
                )
                % said
            )
        return (
            _(
                "Pay by bank transfer to %(name)s, %(bank)s, quoting the invoice number. "
                "Invoices are due on the invoice date."
            )
            % said
        )

    def has_payment_method(self, account) -> bool:
        return True
