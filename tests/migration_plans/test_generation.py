"""The hot path's signal: ficus_control_generation grows with every change, in its transaction."""

from __future__ import annotations

import pytest
from django.db import connection

from migration_plans import control_errors, services
from migration_plans.models import RouteState
from tests.migration_plans.control import make_plan

pytestmark = pytest.mark.django_db(databases=["default"])


def generation():
    # What the proxy runs (SQLAlchemy Core in proxy/), here on Django's connection.
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation FROM ficus_control_generation WHERE id = 1")
        return cursor.fetchone()[0]


def test_it_increments_on_every_change_and_not_on_a_refusal():
    plan = make_plan()
    seen = [generation()]
    services.register_routes(plans=[plan])
    seen.append(generation())
    for weight in (None, 10, 30, None):
        services.advance(
            plans=[plan],
            feature=plan.feature,
            reason="r",
            actor="olga",
            providers=[],
            weight=weight,
        )
        seen.append(generation())
    services.rollback(
        plans=[plan],
        feature=plan.feature,
        to="shadow",
        reason="r",
        actor="olga",
        force=True,
        providers=[],
    )
    seen.append(generation())
    assert seen == list(range(seen[0], seen[0] + 7))
    with pytest.raises(control_errors.ControlError):
        services.advance(
            plans=[plan], feature=plan.feature, to="retired", reason="r", actor="o", providers=[]
        )
    assert generation() == seen[-1]


def test_it_does_not_bump_when_nothing_is_registered():
    plan = make_plan()
    services.register_routes(plans=[plan])
    before = generation()
    services.register_routes(plans=[plan])
    assert generation() == before
    assert RouteState.objects.count() == 2
