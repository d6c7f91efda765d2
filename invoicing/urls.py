from django.urls import path

from invoicing import views

urlpatterns = [
    path("settings/invoices/next.pdf", views.next_invoice_pdf, name="invoice_next_pdf"),
    path("settings/invoices/<str:number>.pdf", views.document_download, name="invoice_pdf"),
]
