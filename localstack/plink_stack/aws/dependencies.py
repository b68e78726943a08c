"""Deletes that AWS refuses while something still uses the resource (the "deletes never check
dependencies" part of local-emulators.md gap 9).

moto 5.2.5 deletes a security group or a subnet even while network interfaces (e.g. those of an
interface endpoint still `deleting`) or load balancers use it. AWS answers `DependencyViolation`;
a teardown that deletes the endpoint and then its security group at once must wait, as with AWS.
"""
from __future__ import annotations

import functools
from typing import Any

from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.elbv2.models import elbv2_backends


def _group_in_use(backend: Any, group_id: str) -> bool:
    if any(group_id in [g.id for g in eni.group_set] for eni in backend.enis.values()):
        return True
    elbv2 = dict.get(dict.get(elbv2_backends, backend.account_id) or {}, backend.region_name)
    return elbv2 is not None and any(group_id in (lb.security_groups or [])
                                     for lb in elbv2.load_balancers.values())


def _patch_security_groups() -> None:
    original = SecurityGroupBackend.delete_security_group

    @functools.wraps(original)
    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> None:
        group = self.get_security_group_from_id(group_id) if group_id else \
            self.get_security_group_by_name_or_id(name) if name else None
        if group is not None and not group.is_default and _group_in_use(self, group.id):
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return original(self, name=name, group_id=group_id)

    SecurityGroupBackend.delete_security_group = delete_security_group


def _patch_subnets() -> None:
    original = SubnetBackend.delete_subnet

    @functools.wraps(original)
    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if any(eni.subnet is not None and eni.subnet.id == subnet_id for eni in self.enis.values()):
            raise DependencyViolationError(
                f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original(self, subnet_id)

    SubnetBackend.delete_subnet = delete_subnet


def install() -> None:
    _patch_security_groups()
    _patch_subnets()
