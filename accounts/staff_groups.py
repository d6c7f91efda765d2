"""The staff groups of SPEC §1: "Support" and "Finance", and the permissions each holds.

Used by the data migration `accounts.0002_staff_groups` and by tests (which run without migrations).
Re-running it brings the groups back to this definition.
"""

from django.apps import apps as global_apps

SUPPORT = "Support"
FINANCE = "Finance"

# Apps installed after accounts.0002 was written; their permissions join when their own migrations have run.
LATER_APPS = ("axes",)
# Models added after accounts.0002 to an app it covers; the migration that adds each syncs the groups again.
LATER_MODELS = {("subscriptions", "planentitlement")}

# app label -> model -> codenames (without the app label)
GROUPS: dict[str, dict[str, dict[str, list[str]]]] = {
    SUPPORT: {
        "accounts": {
            "user": ["view_user"],
            "account": ["view_account", "change_account"],
            "membership": ["view_membership", "add_membership", "change_membership"],
        },
        "subscriptions": {
            "plan": ["view_plan"],
            "planentitlement": ["view_planentitlement"],
            "coupon": ["view_coupon"],
            "subscription": ["view_subscription", "change_subscription"],
            "seatchange": ["view_seatchange"],
            "couponredemption": ["view_couponredemption"],
        },
        "invoicing": {
            "invoice": ["view_invoice"],
            "invoiceline": ["view_invoiceline"],
            "creditnote": ["view_creditnote", "grant_credit"],
            "creditentry": ["view_creditentry"],
            "payment": ["view_payment"],
            "refund": ["view_refund"],
            "creditnoteline": ["view_creditnoteline"],
        },
        "licensing": {
            "licence": ["view_licence", "change_licence"],
            # add: the admin's "Issue offline licence" (SPEC §3) signs a file and records the activation.
            "activation": ["view_activation", "add_activation", "change_activation"],
        },
        # django-axes: failed and successful logins; deleting an access attempt lifts a lockout early.
        "axes": {
            "accessattempt": ["view_accessattempt", "delete_accessattempt"],
            "accesslog": ["view_accesslog"],
            "accessfailurelog": ["view_accessfailurelog"],
        },
    },
    FINANCE: {
        "accounts": {
            "user": ["view_user"],
            "account": ["view_account"],
            "membership": ["view_membership"],
        },
        "subscriptions": {
            "plan": ["view_plan", "add_plan", "change_plan"],
            # A plan's features, edited in its form (the inline).
            "planentitlement": [
                "view_planentitlement",
                "add_planentitlement",
                "change_planentitlement",
                "delete_planentitlement",
            ],
            "coupon": ["view_coupon", "add_coupon", "change_coupon"],
            "subscription": ["view_subscription"],
            "seatchange": ["view_seatchange"],
            "couponredemption": ["view_couponredemption"],
        },
        "invoicing": {
            "invoice": [
                "view_invoice",
                "pay_invoice",
                "void_invoice",
                "mark_uncollectible_invoice",
                "credit_invoice",
                "refund_invoice",
                "refund_invoice_override",
            ],
            "invoiceline": ["view_invoiceline"],
            "creditnote": ["view_creditnote", "grant_credit", "grant_credit_unlimited"],
            "creditentry": ["view_creditentry"],
            "payment": ["view_payment"],
            "refund": ["view_refund"],
            "numberseries": ["view_numberseries"],
            "creditnoteline": ["view_creditnoteline"],
            "stripecustomer": ["view_stripecustomer"],
            "cardcharge": ["view_cardcharge"],
        },
        # dj-stripe's record of Stripe: webhook deliveries, events, the endpoint, mirrored customers and cards.
        "djstripe": {
            "webhookeventtrigger": ["view_webhookeventtrigger"],
            "event": ["view_event"],
            "webhookendpoint": ["view_webhookendpoint"],
            "customer": ["view_customer"],
            "paymentmethod": ["view_paymentmethod"],
        },
        "api": {
            "apikey": ["view_apikey"],
        },
    },
}


def staff_groups_sync(apps=global_apps) -> None:
    """Create the permissions if they are not there yet, then the groups with exactly these permissions.

    `apps` is the migration's app registry when accounts.0002 runs it. A permission named above that does
    not exist raises LookupError instead of leaving a group short of it. An app whose migrations come later
    (LATER_APPS) is left to the migration that depends on it (axes: accounts.0007).
    """
    from django.contrib.auth.management import create_permissions

    present = set()
    for label in ("accounts", "subscriptions", "invoicing", "licensing", "api", "djstripe", *LATER_APPS):
        try:
            config = apps.get_app_config(label)
        except LookupError:
            if label in LATER_APPS:
                continue
            raise
        present.add(label)
        # A migration's app configs have no models module, and create_permissions skips such apps.
        config.models_module = getattr(config, "models_module", None) or True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, by_app in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for label, models in by_app.items():
            if label not in present:
                continue
            for model, codenames in models.items():
                if (label, model) in LATER_MODELS and not _has_model(apps, label, model):
                    continue
                found = Permission.objects.filter(
                    content_type__app_label=label, content_type__model=model, codename__in=codenames
                )
                if found.count() != len(codenames):
                    missing = set(codenames) - set(found.values_list("codename", flat=True))
                    raise LookupError(f"{name}: no permission {label}.{', '.join(sorted(missing))}")
                wanted += list(found)
        group.permissions.set(wanted)


def _has_model(apps, label: str, model: str) -> bool:
    try:
        apps.get_model(label, model)
    except LookupError:
        return False
    return True
