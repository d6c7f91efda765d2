from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class SupportConfig(AppConfig):
    default = True
    name = "support"
    verbose_name = "Support"


class ProrataAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, whose `admin.site` is support.admin_site.ProrataAdminSite (staff pass 2FA)."""

    default = False  # listed by its dotted path in INSTALLED_APPS; "support" itself is SupportConfig
    default_site = "support.admin_site.ProrataAdminSite"
