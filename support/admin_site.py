"""The support admin's site: staff pass a second factor (django-otp TOTP) before any admin page opens.

`support.apps.ProrataAdminConfig` replaces "django.contrib.admin" in INSTALLED_APPS so that `admin.site` is this site.
A staff member who signed in with a password only is sent from the admin's login to the enrolment page
(first time) or the code page, and back.
"""

from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import reverse

from accounts import two_factor


class ProrataAdminSite(AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not user.is_verified():
            return two_factor.challenge(request, request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))
        return super().login(request, extra_context)
