"""One service for the fault-injection tests, on servers of its own (tests/faults/cluster.py)."""

from collections.abc import Iterator

import pytest
from cluster import Cluster
from e2e.conftest import tenant_key
from service_fixtures import postgres_database

from jobs.migrate import upgrade

WORKERS = ("w1", "w2")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    service = Cluster(tmp_path_factory.mktemp("faults"))
    try:
        with postgres_database(service.postgres.url) as database_url:
            upgrade(database_url)
            try:
                service.start(database_url, WORKERS, tenant_key(database_url, "faults"))
                yield service
            finally:
                service.stop_processes()
    finally:
        service.close_servers()


@pytest.fixture
def live(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, its API and both workers running when a test starts and after it ends."""
    yield cluster
    if cluster.api is None or cluster.api.popen.poll() is not None:
        cluster.start_api()
    for name in WORKERS:
        if cluster.workers[name].popen.poll() is not None:
            cluster.start_worker(name)
