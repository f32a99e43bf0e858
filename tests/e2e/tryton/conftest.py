"""GNU Health 5.0 on trytond 7.0, a real third-party legacy system, behind Ficus's proxy.

One trytond (from .venv-tryton, `make tryton-env`) serves the package's tests, each on its own
copy of the initialised template database (tests/support/tryton.py). The proxy has no plan:
everything goes to trytond, as on the first day of a strangler-fig migration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.proxy.processes import RunningProxy, running_proxy
from tests.support.tryton import Template, Trytond, running_trytond, template

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def tryton_template() -> Template:
    return template()


@pytest.fixture(scope="package")
def trytond(
    tmp_path_factory: pytest.TempPathFactory, tryton_template: Template
) -> Iterator[Trytond]:
    with running_trytond(tmp_path_factory.mktemp("trytond"), tryton_template) as server:
        yield server


@pytest.fixture(scope="package")
def ficus(tmp_path_factory: pytest.TempPathFactory, trytond: Trytond) -> Iterator[RunningProxy]:
    workdir = tmp_path_factory.mktemp("ficus")
    no_plans = workdir / "plans"
    no_plans.mkdir()
    with running_proxy(workdir, legacy_url=trytond.url, plans_dir=no_plans) as proxy:
        yield proxy


@pytest.fixture
def new_database(trytond: Trytond, tryton_template: Template) -> Callable[[str], str]:
    """A fresh copy of the template, by name; each test's names must be its own."""
    return lambda name: trytond.new_database(name, tryton_template)
