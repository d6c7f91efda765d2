from django.apps import AppConfig


class RevenueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "revenue"
    verbose_name = "Revenue"

    def ready(self):
        from invoicing.services import rows_register
        from revenue import receivers  # noqa: F401
        from revenue.models import SubscriptionMonth
        from revenue.services import COLUMNS

        # The daily run's snapshot rows go in with invoicing's row writer, which names every column.
        rows_register(SubscriptionMonth, plain=COLUMNS)
