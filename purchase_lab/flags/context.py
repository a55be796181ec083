"""Who is asking: the user a flag is evaluated for, and how that user travels between services.

The gateway builds a UserContext from the request and sends it in the metadata of every gRPC call;
each service rebuilds it with `from_grpc_metadata`, so one user sees one variant everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from openfeature.evaluation_context import EvaluationContext

from purchase_lab.config import employee_domain
from purchase_lab.flags.errors import InvalidUser

USER_ID_KEY = "x-purchase-user-id"
EMAIL_KEY = "x-purchase-user-email"
APP_VERSION_KEY = "x-purchase-app-version"

_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_EMAIL = re.compile(r"[!-?A-~]{1,64}@[A-Za-z0-9.-]{1,189}")  # printable ASCII without spaces or a second @
_APP_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def check_user_id(user_id: str) -> str:
    """Return the user id when it is usable as a targeting key; raise InvalidUser otherwise."""
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise InvalidUser(
            f"user id {user_id!r} is not valid; use 1 to 128 letters, digits or . _ @ + -, "
            "starting with a letter or digit, such as 'u-42'"
        )
    return user_id


def check_app_version(app_version: str) -> str:
    """Return the app version when a client may send it; raise InvalidUser otherwise."""
    if not isinstance(app_version, str) or not _APP_VERSION.fullmatch(app_version):
        raise InvalidUser(
            f"app version {app_version!r} is not valid; send up to 64 letters, digits or . _ + -, such as '2.4.1'"
        )
    return app_version


@dataclass(frozen=True)
class UserContext:
    """The user flags are evaluated for: id (the targeting key), email, and the client's app version."""

    user_id: str
    email: str | None = None
    app_version: str | None = None
    employee_domain: str = field(default_factory=employee_domain, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_user_id(self.user_id)
        if self.email is not None and not _EMAIL.fullmatch(self.email):
            raise InvalidUser(f"email {self.email!r} is not valid; send an address such as 'ada@example.com'")
        if self.app_version is not None:
            check_app_version(self.app_version)

    @property
    def employee(self) -> bool:
        """True when the email's domain is exactly the employee domain (a subdomain or look-alike is not)."""
        if self.email is None:
            return False
        return self.email.rpartition("@")[2].lower() == self.employee_domain

    def to_evaluation_context(self) -> EvaluationContext:
        """The OpenFeature context: targeting key = user id, plus email, employee and app_version."""
        attributes: dict[str, str | bool] = {"employee": self.employee}
        if self.email is not None:
            attributes["email"] = self.email
        if self.app_version is not None:
            attributes["app_version"] = self.app_version
        return EvaluationContext(targeting_key=self.user_id, attributes=attributes)

    def to_grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        """The user as gRPC metadata pairs, to pass with `metadata=` on every downstream call."""
        pairs = [(USER_ID_KEY, self.user_id)]
        if self.email is not None:
            pairs.append((EMAIL_KEY, self.email))
        if self.app_version is not None:
            pairs.append((APP_VERSION_KEY, self.app_version))
        return tuple(pairs)

    @classmethod
    def from_grpc_metadata(
        cls, metadata: Iterable[tuple[str, str | bytes]], employee_domain: str | None = None
    ) -> UserContext | None:
        """Rebuild the caller's user from gRPC metadata; None when the call carries no user.

        Raises InvalidUser when a value is present but malformed.
        """
        values = {key.lower(): value for key, value in metadata if isinstance(value, str)}
        if USER_ID_KEY not in values:
            return None
        domain = {} if employee_domain is None else {"employee_domain": employee_domain}
        return cls(
            user_id=values[USER_ID_KEY],
            email=values.get(EMAIL_KEY) or None,
            app_version=values.get(APP_VERSION_KEY) or None,
            **domain,
        )
