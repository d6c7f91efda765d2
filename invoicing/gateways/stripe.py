"""Cards through Stripe (issue 8): the gateway face of invoicing.stripe_services."""

from moneyed import Money

from invoicing import stripe_services


class StripeGateway:
    code = "stripe"

    def collect(self, invoice, *, on=None) -> None:
        """An off-session charge for what is due, on the day the invoice was issued unless told otherwise."""
        stripe_services.invoice_charge(invoice=invoice, on=on or invoice.issued_on)

    def refund(self, payment, amount: Money, *, reference: str) -> str:
        return stripe_services.card_refund_send(payment=payment, amount=amount, reference=reference)

    def describe(self, account) -> str:
        from invoicing.models import StripeCustomer

        customer = StripeCustomer.objects.filter(account=account).first()
        if customer is None or not customer.payment_method_id:
            return "Pay by card: add a card to have invoices charged automatically."
        return f"{customer.card_label} is charged automatically when an invoice is issued."

    def has_payment_method(self, account) -> bool:
        from invoicing.models import StripeCustomer

        return StripeCustomer.objects.filter(account=account).exclude(payment_method_id="").exists()
