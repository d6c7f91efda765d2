from django.urls import path

from invoicing import views

urlpatterns = [
    path("settings/invoices/next.pdf", views.next_invoice_pdf, name="next_invoice_pdf"),
    path("settings/invoices/<str:number>.pdf", views.document_download, name="document_pdf"),
]
