"""Feature flags the OpenFeature way: flagd definitions evaluated in-process, changed live.

- `FeatureFlags.start()` in each service, then `is_enabled(key, user)`; see evaluator.py.
- `UserContext` is who a flag is evaluated for, passed to every downstream call in gRPC metadata.
- `Rollout` is a flag's rollout plan (off, employees, a sticky percentage, named users, everyone).
- `list_flags`, `set_flag`, `ramp`, `employees_only`, `add_user`, `kill`, `reset` change the live file.
- `FLAGS` names every flag with its code default (the old behaviour) and whether clients see it.
"""

from purchase_lab.flags.context import UserContext, check_app_version
from purchase_lab.flags.definitions import (
    CHECKOUT_FALLBACKS,
    COMMITTED_FLAGS,
    COMMITTED_FLAGS_SOURCE,
    FLAGS,
    LIVE_FILE_NAME,
    LOYALTY_DISCOUNT,
    FlagSettings,
    FlagSpec,
    known_flag,
)
from purchase_lab.flags.document import read_document, seed_live_file
from purchase_lab.flags.errors import (
    CustomTargeting,
    FlagError,
    FlagKilled,
    InvalidFlagsFile,
    InvalidRollout,
    InvalidUser,
    UnknownFlag,
)
from purchase_lab.flags.evaluator import FeatureFlags
from purchase_lab.flags.operations import (
    FlagStatus,
    add_user,
    employees_only,
    kill,
    list_flags,
    ramp,
    reset,
    set_flag,
)
from purchase_lab.flags.rollout import Rollout

__all__ = [
    "CHECKOUT_FALLBACKS",
    "COMMITTED_FLAGS",
    "COMMITTED_FLAGS_SOURCE",
    "FLAGS",
    "LIVE_FILE_NAME",
    "LOYALTY_DISCOUNT",
    "CustomTargeting",
    "FeatureFlags",
    "FlagError",
    "FlagKilled",
    "FlagSettings",
    "FlagSpec",
    "FlagStatus",
    "InvalidFlagsFile",
    "InvalidRollout",
    "InvalidUser",
    "Rollout",
    "UnknownFlag",
    "UserContext",
    "add_user",
    "check_app_version",
    "employees_only",
    "kill",
    "known_flag",
    "list_flags",
    "ramp",
    "read_document",
    "reset",
    "seed_live_file",
    "set_flag",
]
