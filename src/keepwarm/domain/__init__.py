"""The words of DESIGN.md as plain types."""

from keepwarm.domain.errors import (
    ConfigError,
    DatabaseError,
    InvalidInput,
    KeepwarmError,
    NotFound,
)
from keepwarm.domain.model import (
    BULK_CHANNELS,
    PERSONAL_CHANNELS,
    Activity,
    Client,
    ClientCard,
    ClientStatus,
    ImportKind,
    ImportProblem,
    ImportReport,
    ProblemLog,
    SignalCode,
    Staff,
    Touch,
    is_personal_channel,
)

__all__ = [
    "BULK_CHANNELS",
    "PERSONAL_CHANNELS",
    "Activity",
    "Client",
    "ClientCard",
    "ClientStatus",
    "ConfigError",
    "DatabaseError",
    "ImportKind",
    "ImportProblem",
    "ImportReport",
    "InvalidInput",
    "KeepwarmError",
    "NotFound",
    "ProblemLog",
    "SignalCode",
    "Staff",
    "Touch",
    "is_personal_channel",
]
