"""A throwaway /v2 service for the shared-convention tests: the conventions, with no domain.

`/v2/numbers` lists 1..120 (paged), accepts a nested body on POST (validation errors), and
`/v2/boom` fails unexpectedly. Reads are for CLIN, writes for ADMIN, so every persona's answer
differs from at least one other's.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response

from extracted.core.v2 import V2APIView, V2Pagination, identity_of

NUMBERS = list(range(1, 121))


class SlotSerializer(serializers.Serializer[Any]):
    minutes = serializers.IntegerField(min_value=5, max_value=240)


class BookingSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    slots = SlotSerializer(many=True)

    def validate(self, attrs):
        if len(attrs["slots"]) > 2:
            raise serializers.ValidationError("At most two slots per booking.")
        return attrs


class Numbers(V2APIView):
    read_roles = ("CLIN",)
    write_roles = ("ADMIN",)

    def get(self, request):
        paginator = V2Pagination()
        page = paginator.paginate_queryset(NUMBERS, request, self)
        return paginator.get_paginated_response(page)

    def post(self, request):
        booking = BookingSerializer(data=request.data)
        booking.is_valid(raise_exception=True)
        return Response({"booked_by": identity_of(request).login}, status=201)


class Boom(V2APIView):
    read_roles = ("CLIN",)

    def get(self, request):
        raise RuntimeError("secret detail that must not reach the client")


class NoRoles(V2APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("v2/numbers", Numbers.as_view()),
    path("v2/boom", Boom.as_view()),
    path("v2/no-roles", NoRoles.as_view()),
]
