from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from invoicing import frozen

        frozen.connect()
