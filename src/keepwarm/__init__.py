"""keepwarm: every morning, whom to contact today, why, and what to say."""

__version__ = "0.1.0"
