"""Allowed principals of endpoint services and cross-account lookup (local-emulators.md gap 8).

moto 5.2.5 only ever looks at the calling account's own service configurations, so a service is
invisible to every other account even when that account is an allowed principal. AWS shows a service
to its owner and to the principals in its AllowedPrincipals, and lets only those create endpoints to it.

Matching, as AWS documents it for endpoint service permissions:
- `*` allows everyone;
- `arn:aws:iam::ACCT:root` allows every principal of account ACCT;
- a role ARN allows that role (a caller that assumed it through STS AssumeRole);
- a user ARN allows that user.
The caller's principal comes from `context.caller()` (account root unless the access key belongs to
an STS-assumed role or an IAM user).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from moto.ec2.models import ec2_backends

from .context import Caller

_ARN = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$")


def principal_allows(allowed: str, who: Caller) -> bool:
    allowed = allowed.strip()
    if allowed == "*":
        return True
    m = _ARN.match(allowed)
    if not m:
        return False
    _, _, account, resource = m.groups()
    if account != who.account:
        return False
    if resource == "root":
        return True
    return allowed == who.principal


def is_principal_arn(value: str) -> bool:
    """An IAM principal ARN of the forms `principal_allows` matches (root, role, user)."""
    return _ARN.match(value.strip()) is not None


def can_use(service: Any, who: Caller) -> bool:
    """May `who` see and connect to this endpoint service configuration?"""
    if service.ec2_backend.account_id == who.account:
        return True
    return any(principal_allows(p, who) for p in service.principals)


def region_services(region: str) -> Iterator[tuple[str, Any]]:
    """Every endpoint service configuration of every account in `region`: (account, config)."""
    for account, per_region in list(ec2_backends.items()):
        backend = dict.get(per_region, region)
        if backend is None:
            continue
        for config in list(getattr(backend, "configurations", {}).values()):
            yield account, config


def find_service(region: str, service_name: str) -> Any | None:
    for _, config in region_services(region):
        if config.service_name == service_name:
            return config
    return None
