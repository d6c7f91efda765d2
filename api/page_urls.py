"""Settings › API keys, under /settings/ (the API itself is api/urls.py)."""

from django.urls import path

from api import pages

urlpatterns = [
    path("api-keys/", pages.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", pages.api_key_revoke_view, name="api_key_revoke"),
]
