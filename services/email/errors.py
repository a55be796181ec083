"""What can go wrong when recording or listing emails; each error says what to do about it."""


class EmailError(Exception):
    """An email request the service cannot serve."""


class InvalidEmailRequest(EmailError):
    """The request is missing a field or holds a value the service cannot use; the caller must fix it."""


class OutboxUnavailable(EmailError):
    """Redis, where the outbox lives, cannot be reached; the same call may succeed shortly."""

    def __init__(self) -> None:
        super().__init__("the email outbox is unavailable; retry shortly")
