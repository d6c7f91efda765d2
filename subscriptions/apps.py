from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from invoicing.services import rows_register
        from subscriptions import receivers  # noqa: F401
        from subscriptions.models import SeatChange

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
