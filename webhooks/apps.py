from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from invoicing.services import rows_register
        from webhooks import receivers  # noqa: F401
        from webhooks.models import Event

        # The daily run writes its batch's events with invoicing's COPY writer, which names every column.
        rows_register(Event, plain=("event_id", "type", "account_id", "created_at", "payload"))
