"""Cursor pagination per API.md: ``next``/``previous``/``results``, no count."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Default list pagination; ``?page_size=`` up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"


class NewestFirstPagination(CursorPagination):
    """Rows with a ``created_at``, newest first (id breaks ties)."""

    ordering = ("-created_at", "-id")
