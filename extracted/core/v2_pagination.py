"""Page-number pagination for /v2 lists: a total, relative links, and named 400s.

Page numbers (`page`, `page_size` ≤ 200, default 50) rather than cursors, so a client sees
`count`. Links are relative (path + query): behind the proxy, the service does not know the
host the client used. A bad `page` or `page_size`, or a page past the end, is a 400 naming the
parameter instead of DRF's silent fallback or 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import InvalidPage, Page
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from extracted.core.numbers import ascii_int
from extracted.core.v2_errors import NO_SUCH_PAGE

__all__ = ["V2Pagination", "paging_parameters"]

# Beyond any real list (10**9 pages of 200); a larger number is refused as not a page number.
MAX_PAGE = 10**9


class V2Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = ascii_int(raw, low=1, high=self.max_page_size)
        if size is None:
            raise exceptions.ValidationError(
                {"page_size": [f"Must be an integer from 1 to {self.max_page_size}."]}
            )
        return size

    def paginate_queryset(
        self,
        queryset: QuerySet[Any, Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
    ) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param, "1")
        number = ascii_int(raw, low=1, high=MAX_PAGE)
        if number is None:
            raise exceptions.ValidationError({"page": ["Must be a positive integer."]})
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        try:
            self.page = paginator.page(number)
        except InvalidPage as e:
            raise exceptions.ValidationError(
                {"page": [f"There is no page {raw}; the last page is {paginator.num_pages}."]},
                code=NO_SUCH_PAGE,
            ) from e
        return list(self.page)

    def _current(self) -> tuple[Page[Any], str]:
        assert self.page is not None, "paginate_queryset first"
        assert self.request is not None, "paginate_queryset first"
        return self.page, self.request.get_full_path()

    def get_next_link(self) -> str | None:
        page, url = self._current()
        if not page.has_next():
            return None
        return replace_query_param(url, self.page_query_param, page.next_page_number())

    def get_previous_link(self) -> str | None:
        page, url = self._current()
        if not page.has_previous():
            return None
        number = page.previous_page_number()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """`page` and `page_size` with the bounds this class enforces (DRF says only integer)."""
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number, from 1.",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Results per page, 1-{self.max_page_size} (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]  # fmt: skip

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri-reference"}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {**link, "example": "/v2/appointments?page=3"},
                "previous": {**link, "example": "/v2/appointments?page=1"},
                "results": schema,
            },
        }


def paging_parameters() -> list[OpenApiParameter]:
    """`page` and `page_size` for `extend_schema` of a list that is not a generic view
    (drf-spectacular adds them by itself only to those), from the one definition above."""
    return [
        OpenApiParameter(p["name"], p["schema"], description=p["description"])
        for p in V2Pagination().get_schema_operation_parameters(view=APIView())
    ]
