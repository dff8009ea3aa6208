from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    """One temporary Prefect API for the whole flow-test session (starting one costs 10-20 s)."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def fresh_clients():
    """Each test gets its own SP-API clients (their buckets belong to that test's stand-in)."""
    from tasks import amazon

    amazon._CLIENTS.clear()
    yield
    amazon._CLIENTS.clear()
