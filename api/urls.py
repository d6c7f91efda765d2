from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api import views

app_name = "api"

docs = {"permission_classes": [AllowAny], "authentication_classes": []}

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(**docs), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", **docs), name="docs"),
    path("api/v1/account", views.AccountView.as_view(), name="account"),
    path("api/v1/subscription", views.SubscriptionView.as_view(), name="subscription"),
    path("api/v1/subscription/seats", views.SubscriptionSeatsView.as_view(), name="subscription_seats"),
    path("api/v1/subscription/cycle", views.SubscriptionCycleView.as_view(), name="subscription_cycle"),
    path("api/v1/subscription/cancel", views.SubscriptionCancelView.as_view(), name="subscription_cancel"),
    path("api/v1/subscription/undo-cancel", views.SubscriptionUndoCancelView.as_view(), name="subscription_undo"),
    path("api/v1/members", views.MemberList.as_view(), name="members"),
    path("api/v1/members/<int:pk>", views.MemberDetail.as_view(), name="member"),
    path("api/v1/members/<int:pk>/archive", views.MemberArchive.as_view(), name="member_archive"),
    path("api/v1/members/<int:pk>/reactivate", views.MemberReactivate.as_view(), name="member_reactivate"),
    path("api/v1/members/<int:pk>/role", views.MemberRole.as_view(), name="member_role"),
    path("api/v1/billing-details", views.BillingDetailsView.as_view(), name="billing_details"),
    path("api/v1/invoices", views.InvoiceList.as_view(), name="invoices"),
    path("api/v1/invoices/<str:number>", views.InvoiceDetail.as_view(), name="invoice"),
    path("api/v1/invoices/<str:number>/pdf", views.InvoicePdf.as_view(), name="invoice_pdf"),
    path("api/v1/credit-notes", views.CreditNoteList.as_view(), name="credit_notes"),
    path("api/v1/credit-notes/<str:number>", views.CreditNoteDetail.as_view(), name="credit_note"),
    path("api/v1/credit-notes/<str:number>/pdf", views.CreditNotePdf.as_view(), name="credit_note_pdf"),
    path("api/v1/licences", views.LicenceList.as_view(), name="licences"),
    path("api/v1/activations", views.ActivationView.as_view(), name="activations"),
    path("api/v1/licence-public-key", views.PublicKeyView.as_view(), name="licence_public_key"),
    # Anything else under /api/ is a 404 in the API's error shape, not an HTML page.
    re_path(r"^api/", views.not_found),
]
