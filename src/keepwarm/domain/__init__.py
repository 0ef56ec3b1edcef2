"""The words of DESIGN.md as plain types."""

from keepwarm.domain.actions import Candidate, EarlierAction, Plan, PlannedAction
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
from keepwarm.domain.policy import FollowUpRule, Occasion, Policy
from keepwarm.domain.signals import ClientFacts, Signal

__all__ = [
    "BULK_CHANNELS",
    "PERSONAL_CHANNELS",
    "Activity",
    "Candidate",
    "Client",
    "ClientCard",
    "ClientFacts",
    "ClientStatus",
    "ConfigError",
    "DatabaseError",
    "EarlierAction",
    "FollowUpRule",
    "ImportKind",
    "ImportProblem",
    "ImportReport",
    "InvalidInput",
    "KeepwarmError",
    "NotFound",
    "Occasion",
    "Plan",
    "PlannedAction",
    "Policy",
    "ProblemLog",
    "Signal",
    "SignalCode",
    "Staff",
    "Touch",
    "is_personal_channel",
]
