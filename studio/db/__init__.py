"""Persistence: SQLAlchemy models, the database handle, Alembic migrations and the media store."""

from studio.db.database import Database
from studio.db.store import MediaStore

__all__ = ["Database", "MediaStore"]
