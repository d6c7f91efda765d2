from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Opaque cursors over a unique, stable ordering (the primary key)."""

    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = "This cursor is not valid; start again from the first page."
            raise ValidationError({"cursor": [ErrorDetail(message, code="invalid_cursor")]}) from None
