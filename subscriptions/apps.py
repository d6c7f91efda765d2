from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import hooks
        from subscriptions import receivers  # noqa: F401
        from subscriptions.selectors import live_subscription
        from subscriptions.views import membership_change_confirmation, seat_summary

        # Members pages (accounts) show what a member change costs: a hook, since accounts is the lower layer.
        hooks.register(
            summary=lambda account: seat_summary(account, live_subscription(account)),
            confirmation=membership_change_confirmation,
        )
