from django.dispatch import Signal

# Sent inside the transaction of every membership change, once the subscription's
# seats have followed it (subscriptions.receivers), with account and on (date).
# Licences follow paid seats here, so they always see the new count.
seats_synced = Signal()

# Sent when a full daily run (`billing_run` over every account) has finished, with on (date).
# Higher layers keep their daily figures by it (revenue snapshots, issue 21).
daily_run_finished = Signal()

# Sent inside the transaction that locks an account for an unpaid invoice (dunning) or unlocks it
# (payment, or support by hand), with account and on (date). Sender: Account.
account_locked = Signal()
account_unlocked = Signal()
