"""Storage: tables, connections, migrations and queries. Queries never commit."""

from keepwarm.store.engine import connect, one_snapshot, reading, writing
from keepwarm.store.migrate import current_revision, head_revision, migrate, require_current

__all__ = [
    "connect",
    "current_revision",
    "head_revision",
    "migrate",
    "one_snapshot",
    "reading",
    "require_current",
    "writing",
]
