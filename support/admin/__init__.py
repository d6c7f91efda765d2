"""Every Prorata model's admin; Django's autodiscovery imports this package.

`base` is the shared machinery (money columns, read-only pages, staff actions
previewed by a dry run); one module per app administered.
"""

from support.admin import accounts, invoicing, subscriptions  # noqa: F401


def _hide_stripe_mirror() -> None:
    """dj-stripe registers ~45 models of its Stripe mirror; support works from Prorata's own pages.

    Only the webhook log stays, to see what Stripe sent. The models are still there for the code.
    """
    import djstripe.admin  # noqa: F401  (registers them first, so they can be unregistered)
    from django.apps import apps
    from django.contrib import admin

    for model in apps.get_app_config("djstripe").get_models():
        if model.__name__ != "WebhookEventTrigger" and admin.site.is_registered(model):
            admin.site.unregister(model)


_hide_stripe_mirror()
