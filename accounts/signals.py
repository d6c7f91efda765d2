from django.dispatch import Signal

# Sent inside the transaction of every membership change, with
# account, membership, on (date), by (user or None) and reason (str).
# Billing counts seats here; a receiver that raises Refused rolls the change back.
membership_changed = Signal()
