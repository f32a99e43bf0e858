"""Schemathesis over every operation of an OpenAPI schema, against a real server.

Every check schemathesis has runs (status codes and content types as documented, responses
valid against their schemas, no 5xx, schema-invalid requests refused, schema-valid ones
accepted, ...), over positive and negative cases, with a fixed seed. The example count follows
the Hypothesis profile (tests/conftest.py: `ci` bounded, `fuzz` long, for `make fuzz`).

`failures_of` reports the first failure of each operation and mode (unshrunk, with the curl
command that reproduces it) instead of stopping at the first operation, so one run shows
everything a schema change needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import positive_data_acceptance

from extracted.core.gunicorn_refusals import REQUEST_LINE_LIMIT

# Cases per operation and mode: a quarter of the profile's examples (`ci`: 60 → 15), at most
# 500 (`fuzz`), because each case is a real request to a real process.
EXAMPLES_PER_OPERATION = max(5, min(settings().max_examples // 4, 500))
SEED = 12
# A head over gunicorn's limits is refused (414, 431) before any service code runs, in the
# face of the path, as every schema documents (extracted/core/gunicorn_refusals.py): a
# rejection like any other for a negative case, the documented answer for a positive one.
HEAD_REFUSALS = ["414", "431"]

# A refusal of a schema-valid request that no OpenAPI schema can rule out (it depends on the
# data, or on two parameters together): the caller says which ones it excuses.
Excuse = Callable[[schemathesis.Response, schemathesis.Case[Any]], bool]


def all_checks() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "checks": {
                "enabled": True,
                "negative_data_rejection": {
                    "expected-statuses": [
                        *NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
                        *HEAD_REFUSALS,
                    ],
                },
            },
            # The credentials are the caller's (auth/headers), never generated or negated.
            "generation": {
                "mode": "all",
                "with-security-parameters": False,
                "max-examples": EXAMPLES_PER_OPERATION,
            },
        }
    )


def _over_the_request_line(response: schemathesis.Response) -> bool:
    request = response.request
    line = f"{request.method} {request.path_url} HTTP/1.1"
    return len(line.encode("latin-1", "replace")) > REQUEST_LINE_LIMIT


def load(url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(url, config=all_checks())


def failures_of(
    schema: schemathesis.BaseSchema, *, excused: Excuse = lambda r, c: False, **call: Any
) -> list[str]:
    """Every operation, positive and negative cases; `call` goes to each request (auth,
    headers). What failed, one entry per operation and mode."""

    def positive_data_accepted(
        ctx: schemathesis.CheckContext,
        response: schemathesis.Response,
        case: schemathesis.Case[Any],
    ) -> bool | None:
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        if positive and response.status_code == 400 and excused(response, case):
            return None
        if positive and response.status_code == 414 and _over_the_request_line(response):
            return None
        return positive_data_acceptance(ctx, response, case)

    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails here
        # The schema's own examples first (real ids and names reach the success paths, which
        # random values rarely find), then generated positive and negative cases.
        runs = [
            ("examples", st.one_of(s))
            for s in [schema.get_strategies_from_examples(operation)]
            if s
        ]
        runs += [(m.value, operation.as_strategy(generation_mode=m)) for m in GenerationMode]
        for label, strategy in runs:

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],  # the first failure, unshrunk: quick
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(
                    timeout=30,
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[positive_data_accepted],
                    **call,
                )

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to negate (no parameters, no body): no negative case exists
            except (Exception, BaseExceptionGroup) as e:  # every operation's failure
                found.append(f"{operation.label} [{label}]: {e}")
    return found
