"""User-facing errors: each message names the problem and the fix, so the CLIs print it as is."""


class AgainError(Exception):
    """Base class of the errors a user can fix (bad config, missing data)."""


class ConfigError(AgainError, ValueError):
    """A configuration value is invalid; the message lists the allowed values."""


class DataError(AgainError):
    """A data set cannot be found, downloaded or parsed; the message says what was tried."""
