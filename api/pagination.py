from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class InvalidCursor(NotFound):
    default_code = "invalid_cursor"
    default_detail = "This cursor points to no page; start again from the first page."


class Cursor(CursorPagination):
    """Opaque cursors over a unique, stable ordering (the primary key)."""

    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        """Strict: a page_size that is not a whole number from 1 to max_page_size is a 400, not ignored."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            message = f"page_size must be a whole number from 1 to {self.max_page_size}."
            raise ValidationError({"page_size": [ErrorDetail(message, code="invalid")]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            # The page an opaque cursor points to does not exist: a 404 (DRF's own answer), in the error shape.
            raise InvalidCursor() from None
