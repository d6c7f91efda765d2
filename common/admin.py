"""What the admin sites of every app share."""


class ReadOnlyAdminMixin:
    """Issued documents, ledgers and logs: viewed, never added, edited or deleted in the admin (SPEC §2.6)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
