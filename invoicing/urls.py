from django.urls import path

from invoicing import views

urlpatterns = [
    path("settings/invoices/<str:number>.pdf", views.document_download, name="document_pdf"),
]
