from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from subscriptions.product import app_home

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("app/", app_home, name="app"),  # the product placeholder that billing locks
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the switcher in the footer of every page
    path("", include("api.urls")),
    path("settings/", include("licensing.urls")),
    path("settings/", include("api.page_urls")),
    path("", include("accounts.urls")),
    path("settings/subscription/", include("subscriptions.urls")),
    path("settings/invoices/", include("invoicing.pages")),
    path("", include("subscriptions.document_urls")),  # /settings/invoices/next.pdf, before <number>.pdf
    path("", include("invoicing.urls")),  # /settings/invoices/<number>.pdf
    path("", include("invoicing.payment_urls")),  # /settings/payment-method/, /stripe/webhook/
]
