"""record_change writes only inside the write's transaction (contract C4)."""

from __future__ import annotations

import pytest
from django.db import transaction

from extracted.appointments.models import Outbox
from extracted.core.outbox import OutsideTransactionError, record_change

pytestmark = pytest.mark.django_db(databases=["default", "appointments"], transaction=True)


def test_it_refuses_to_write_in_autocommit():
    with pytest.raises(OutsideTransactionError, match="outside a transaction"):
        record_change(Outbox, aggregate="appointment", key=7, operation="upsert")

    assert not Outbox.objects.exists()


def test_it_writes_with_the_transaction_and_vanishes_with_its_rollback():
    with transaction.atomic(using="appointments"):
        record_change(Outbox, aggregate="appointment", key=7, operation="upsert", request_id="r")
    with pytest.raises(RuntimeError, match="failed"):
        _write_then_fail()

    assert list(Outbox.objects.values_list("key", "operation", "request_id")) == [
        ("7", "upsert", "r")
    ]


def test_it_refuses_an_unknown_operation():
    with pytest.raises(ValueError, match="operation"), transaction.atomic(using="appointments"):
        record_change(Outbox, aggregate="appointment", key=7, operation="merge")


def _write_then_fail():
    with transaction.atomic(using="appointments"):
        record_change(Outbox, aggregate="appointment", key=8, operation="upsert")
        raise RuntimeError("the write failed")
