"""The payment gateway seam: collect an invoice, refund a payment, describe how to pay."""


def has_payment_method(account) -> bool:
    """Whether the account can pay a renewal without being asked (a card on file for Stripe)."""
    return account.payment_gateway == "bank_transfer"
