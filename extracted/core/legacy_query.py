"""Query parameters as the legacy app reads them: of a repeated parameter, the first value.

The legacy app parses its query string with `parse_qs` and keeps `values[0]`; Django's
`QueryDict.get` gives the *last*. `GET /api/appointments?date=a&date=b` must read `a` on both
sides, so every legacy-contract view reads its parameters here.
"""

from __future__ import annotations

from django.http import HttpRequest


def first_value(request: HttpRequest, name: str) -> str:
    """The first value of query parameter `name`, or "" if the request has none."""
    values = request.GET.getlist(name)
    return values[0] if values else ""
