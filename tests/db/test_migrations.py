from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from studio.db import Database
from studio.db.database import alembic_config
from studio.db.models import Base


def test_empty_database_upgrades_to_head_and_matches_models(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.upgrade()
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert db.current_revision() == head
    assert {"jobs", "api_keys", "users", "sessions", "request_log", "media_files"} <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        # The migrations create exactly what the models describe.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.upgrade()  # idempotent
    db.dispose()
