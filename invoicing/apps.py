from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from invoicing import frozen, webhooks  # noqa: F401  (webhooks: Prorata's receivers of dj-stripe's events)

        frozen.connect()
        from django.db.models.signals import post_migrate

        from invoicing import triggers

        post_migrate.connect(triggers.install_after_migrate, sender=self, dispatch_uid="invoicing_triggers")
