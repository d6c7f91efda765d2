from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import hooks
        from invoicing.services import rows_register
        from subscriptions import receivers  # noqa: F401
        from subscriptions.models import SeatChange
        from subscriptions.selectors import live_subscription, seat_summary
        from subscriptions.views import membership_change_confirmation

        # Members pages (accounts) show what a member change costs: a hook, since accounts is the lower layer.
        hooks.register(
            summary=lambda account: seat_summary(account, live_subscription(account)),
            confirmation=membership_change_confirmation,
        )
        # The daily run writes its seat-ledger rows with invoicing's COPY writer, which names every column.
        rows_register(
            SeatChange,
            plain=(
                "subscription_id",
                "on",
                "reason",
                "seats_in_use",
                "paid_seats",
                "bought_seats",
                "by_id",
                "created_at",
            ),
        )
