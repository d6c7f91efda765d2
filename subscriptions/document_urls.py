from django.urls import path

from subscriptions import documents

# Included before invoicing.urls: its `settings/invoices/<number>.pdf` would take "next" for a number.
urlpatterns = [
    path("settings/invoices/next.pdf", documents.next_invoice_pdf, name="next_invoice_pdf"),
]
