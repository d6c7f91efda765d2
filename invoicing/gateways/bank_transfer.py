"""Bank transfer, the default gateway: nothing external; staff record what arrives (SPEC §2.5, issue 8).

Staff record payments with `invoicing.services.invoice_pay` (amount, date, reference):
a partial payment leaves the invoice open with the remainder due, an overpayment goes
to the credit balance.
"""

from django.conf import settings
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
        terms = f"within {days} days of the invoice date" if days else "on the invoice date"
        return (
            f"Pay by bank transfer to {seller['name']}, {seller['bank']}, quoting the invoice number. "
            f"Invoices are due {terms}."
        )

    def has_payment_method(self, account) -> bool:
        return True
