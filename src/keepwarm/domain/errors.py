"""Errors a user can meet. Each carries a message fit to show as it is."""

from __future__ import annotations


class KeepwarmError(Exception):
    """Base of every error keepwarm reports to a user (the CLI prints it without a traceback)."""


class ConfigError(KeepwarmError):
    """A setting or option has a value keepwarm cannot use."""


class NotFound(KeepwarmError):
    """A client, staff member or other record named by the user does not exist."""


class InvalidInput(KeepwarmError):
    """A value typed by the user (not a file) is not acceptable."""


class DatabaseError(KeepwarmError):
    """The database cannot be reached or is not at the expected schema."""


class NotAllowed(KeepwarmError):
    """Signed in, but this user's role may not do that (or see that object)."""


class SignInFailed(KeepwarmError):
    """Wrong email or password, or too many failed attempts: the message says which, never
    whether the email exists."""
