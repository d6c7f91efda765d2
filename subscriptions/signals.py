from django.dispatch import Signal

# Sent inside the transaction of every membership change, once the subscription's
# seats have followed it (subscriptions.receivers), with account and on (date).
# Licences follow paid seats here, so they always see the new count.
seats_synced = Signal()
