"""Payment URLs (issue 8): the payment-method settings page and Stripe's webhook endpoint."""

from django.urls import path

from invoicing.gateways.views import payment_method
from invoicing.webhooks import stripe_webhook

urlpatterns = [
    path("settings/payment-method/", payment_method, name="payment_method"),
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="stripe_webhook"),
]
