from django.dispatch import Signal

# Sent inside the transaction of every membership change, once the subscription's
# seats have followed it (subscriptions.receivers), with account and on (date).
# Licences follow paid seats here, so they always see the new count.
seats_synced = Signal()

# Sent when a full daily run (`billing_run` over every account) has finished, with on (date).
# Higher layers keep their daily figures by it (revenue snapshots, issue 21).
daily_run_finished = Signal()
