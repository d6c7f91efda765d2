from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Opaque cursors over a unique, stable ordering (the primary key)."""

    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
