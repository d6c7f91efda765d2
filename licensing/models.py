"""Named-user licences and on-premise activations (SPEC §2.7)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.history import History


class Licence(models.Model):
    """One named-user licence of an account: held by one member at most, never shared.

    An account has as many licences as its subscription has paid seats; a licence
    whose holder leaves (archived, role `none`, invitation withdrawn) goes to the
    next member who takes a seat without one.
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="licences")
    membership = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="licences",
    )
    assigned_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = History()

    class Meta:
        ordering = ["account", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "membership"],
                condition=Q(membership__isnull=False),
                name="one_licence_per_member",
            ),
        ]

    def __str__(self):
        holder = self.membership.email if self.membership_id else "unassigned"
        return f"Licence {self.pk} of {self.account} ({holder})"


class Activation(models.Model):
    """An on-premise server (instance) activated for a subscription, online or by file."""

    class Kind(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline file"

    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="activations")
    instance_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ONLINE)
    first_activated_at = models.DateTimeField(default=timezone.now)
    last_activated_at = models.DateTimeField(default=timezone.now)
    times_issued = models.PositiveIntegerField(default=1)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    history = History()

    class Meta:
        ordering = ["subscription", "first_activated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "instance_id"], name="one_activation_per_instance"),
        ]

    def __str__(self):
        return f"{self.instance_id} on {self.subscription.public_id}"

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None
