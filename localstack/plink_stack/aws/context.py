"""Request context of the AWS emulator: one global lock and "who is calling".

moto's backends are plain dicts and objects, not thread-safe; the werkzeug server is threaded and the
Databricks emulator calls into them too (through `bridge`). Every access to moto state therefore runs
under `LOCK` (re-entrant, so patched backend methods may call each other).

AWS decides visibility of endpoint services and permission to connect by the calling *principal*
(local-emulators.md gap 8), which moto's backends never see. The WSGI layer (`app.py`) and the bridge
record it here per thread; backend patches read it with `caller()`.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Iterator

LOCK = threading.RLock()

_local = threading.local()


@dataclass(frozen=True)
class Caller:
    account: str
    principal: str  # IAM ARN: arn:aws:iam::ACCT:root | role/... | user/...

    @staticmethod
    def root(account: str, partition: str = "aws") -> "Caller":
        return Caller(account, f"arn:{partition}:iam::{account}:root")


def caller(default_account: str) -> Caller:
    """The principal of the request being served, or the account root of `default_account`."""
    current = getattr(_local, "caller", None)
    if current is not None and current.account == default_account:
        return current
    return Caller.root(default_account)


@contextlib.contextmanager
def acting_as(who: Caller) -> Iterator[None]:
    previous = getattr(_local, "caller", None)
    _local.caller = who
    try:
        yield
    finally:
        _local.caller = previous
