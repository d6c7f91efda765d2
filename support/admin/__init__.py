"""Every Prorata model's admin; Django's autodiscovery imports this package.

`base` is the shared machinery (money columns, read-only pages, staff actions
previewed by a dry run); one module per app administered.
"""

from support.admin import accounts, invoicing, subscriptions  # noqa: F401
