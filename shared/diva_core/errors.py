"""DIVA's own error vocabulary.

Adapters translate provider errors (botocore, OS, JSON) into these, so nothing above a
store, a dispatcher or an alert sink needs to know which backend it talks to.
`retryable` tells a caller whether trying again later can help.
"""

from __future__ import annotations


class DivaError(Exception):
    """Base of every error DIVA raises on purpose."""

    retryable = False


class ConfigError(DivaError):
    """The user's configuration is invalid. Carries one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class StateError(DivaError):
    """Stored state could not be read or written; the stored copy is left as it was."""


class CorruptStateError(StateError):
    """Stored state exists but cannot be parsed; it is never treated as empty."""


class StoreUnavailableError(StateError):
    """The store did not answer (throttled, unreachable, denied) after bounded retries."""

    retryable = True


class StaleStateError(StateError):
    """Another writer changed the state since it was read (compare-and-set failed).

    `written` names the events this commit did store before the conflict (stores that
    write per event, like DynamoDB, can succeed partly); the caller re-reads and re-applies
    the rest.
    """

    retryable = True

    def __init__(self, message: str, *, written: frozenset[str] = frozenset()):
        self.written = written
        super().__init__(message)


class DeliveryError(DivaError):
    """An alert sink failed to deliver a notification; it is retried next cycle."""

    retryable = True
