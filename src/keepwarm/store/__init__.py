"""Storage: tables, connections, migrations and queries. Queries never commit."""

from keepwarm.store.engine import connect, reading, writing
from keepwarm.store.migrate import current_revision, head_revision, migrate, require_current

__all__ = [
    "connect",
    "current_revision",
    "head_revision",
    "migrate",
    "reading",
    "require_current",
    "writing",
]
