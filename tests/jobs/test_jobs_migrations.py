"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from service_fixtures import Backend

from jobs.db import get_engine
from jobs.models import Base


def test_migrated_schema_matches_the_models(backend: Backend) -> None:
    with get_engine(backend.database_url).connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
        assert compare_metadata(context, Base.metadata) == []
