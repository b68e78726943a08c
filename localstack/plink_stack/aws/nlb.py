"""Load balancers (local-emulators.md gaps 4, 5, 7 and the NLB part of 9).

moto 5.2.5 vs AWS, and what this module makes of it:
- CreateLoadBalancer with a name in use creates a duplicate; AWS returns the existing load balancer
  when type, scheme, subnets, security groups and IP address type match, and fails with
  `DuplicateLoadBalancerName` otherwise.
- Two subnets in one Availability Zone are accepted; AWS: `InvalidConfigurationRequest`.
- Network load balancers get `loadbalancer/app/...` ARNs; AWS uses `loadbalancer/net/...` (and so
  `listener/net/...`), with a DNS name `<name>-<16 hex>.elb.<region>.amazonaws.com`.
- A missing Scheme is stored as None; AWS defaults to `internet-facing`.
- The state turns `active` on the first Describe; here it stays `provisioning` for
  `Delays.nlb_provisioning`.
- `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` is dropped; AWS sets it `on` for an NLB
  created with security groups, lets SetSecurityGroups change it, and returns it from
  SetSecurityGroups (whose output moto also got wrong: `SecurityGroupIds`) and DescribeLoadBalancers.
  An NLB created without security groups cannot get any later.
- DeleteLoadBalancer deletes unconditionally; AWS refuses while deletion protection is on
  (`OperationNotPermitted`) or while an endpoint service uses the NLB (`ResourceInUse`). Deleting an
  unknown ARN succeeds, as in AWS.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

from moto.core.responses import ActionResult
from moto.elbv2.exceptions import (DuplicateLoadBalancerName, ELBClientError,
                                   InvalidConfigurationRequest, LoadBalancerNotFoundError,
                                   ResourceInUseError, ValidationError)
from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer
from moto.elbv2.responses import ELBV2Response

from . import ids, scheduler

NLB_HOSTED_ZONES = {"us-east-1": "Z26RNL4JYFTOTI", "us-west-2": "Z18D5FSROUN65G"}
ENFORCE = "enforce_security_group_inbound_rules_on_private_link_traffic"


def _same_settings(lb: Any, lb_type: str, scheme: str, subnet_ids: list[str],
                   groups: list[str], ip_type: str) -> bool:
    return (lb.type == lb_type and lb.scheme == scheme
            and sorted(s.id for s in lb.subnets) == sorted(subnet_ids)
            and sorted(lb.security_groups or []) == sorted(groups or [])
            and lb.ip_address_type == ip_type)


def _check_zones(backend: Any, subnet_ids: list[str]) -> None:
    zones = set()
    for subnet_id in subnet_ids:
        try:
            zone = backend.ec2_backend.get_subnet(subnet_id).availability_zone
        except Exception:  # moto's create reports unknown subnets itself
            continue
        if zone in zones:
            raise InvalidConfigurationRequest(
                "A load balancer cannot be attached to multiple subnets in the same "
                "Availability Zone")
        zones.add(zone)


def _to_net_arn(backend: Any, lb: Any) -> None:
    old = lb.arn
    lb.arn = old.replace(":loadbalancer/app/", ":loadbalancer/net/")
    backend.load_balancers = OrderedDict(
        (lb.arn if arn == old else arn, value) for arn, value in backend.load_balancers.items())
    tags = backend.tagging_service.list_tags_for_resource(old)["Tags"]
    backend.tagging_service.delete_all_tags_for_resource(old)
    if tags:
        backend.tagging_service.tag_resource(lb.arn, tags)
    lb.dns_name = f"{lb.name}-{ids.lb_id()}.elb.{backend.region_name}.amazonaws.com"
    lb.canonical_hosted_zone_id = NLB_HOSTED_ZONES.get(backend.region_name, lb.canonical_hosted_zone_id)


def _patch_create() -> None:
    original = ELBv2Backend.create_load_balancer

    @functools.wraps(original)
    def create_load_balancer(self: Any, name: str, security_groups: list[str],
                             subnet_ids: list[str], subnet_mappings: list[dict] | None = None,
                             scheme: str | None = "internet-facing",
                             loadbalancer_type: str | None = None,
                             ip_address_type: str = "ipv4", tags: list[dict] | None = None) -> Any:
        lb_type = loadbalancer_type or "application"
        scheme = scheme or "internet-facing"
        ip_address_type = ip_address_type or "ipv4"
        all_subnets = list(subnet_ids or []) + [m["SubnetId"] for m in subnet_mappings or []]
        for lb in self.load_balancers.values():
            if lb.name == name:
                if _same_settings(lb, lb_type, scheme, all_subnets, security_groups, ip_address_type):
                    return lb
                raise DuplicateLoadBalancerName()
        _check_zones(self, all_subnets)
        lb = original(self, name=name, security_groups=security_groups, subnet_ids=subnet_ids,
                      subnet_mappings=subnet_mappings, scheme=scheme,
                      loadbalancer_type=lb_type, ip_address_type=ip_address_type, tags=tags)
        if lb_type == "network":
            _to_net_arn(self, lb)
            setattr(lb, ENFORCE, "on" if security_groups else None)

        def activate() -> None:
            if lb.state == "provisioning":
                lb.state = "active"

        scheduler.after("nlb_provisioning", activate)
        return lb

    ELBv2Backend.create_load_balancer = create_load_balancer
    FakeLoadBalancer.activate = lambda self: None  # the scheduler activates, see above


def _patch_delete() -> None:
    original = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        lb = self.load_balancers.get(arn)
        if lb is None:
            return
        if lb.attrs.get("deletion_protection.enabled") == "true":
            raise ELBClientError("OperationNotPermitted",
                                 f"Load balancer '{arn}' cannot be deleted because deletion "
                                 "protection is enabled")
        for config in self.ec2_backend.configurations.values():
            if arn in config.network_load_balancer_arns + config.gateway_load_balancer_arns:
                raise ResourceInUseError(f"Load balancer '{arn}' cannot be deleted because it is "
                                         "currently associated with another service")
        original(self, arn)
        for tg in self.target_groups.values():
            if arn in tg.load_balancer_arns:
                tg.load_balancer_arns.remove(arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer


def set_security_groups(self: Any) -> ActionResult:
    arn = self._get_param("LoadBalancerArn")
    groups = self._get_param("SecurityGroups", [])
    enforce = self._get_param("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic")
    lb = self.elbv2_backend.load_balancers.get(arn)
    if lb is None:
        raise LoadBalancerNotFoundError()
    if lb.type == "network" and not lb.security_groups:
        raise InvalidConfigurationRequest(
            "You cannot set security groups on a Network Load Balancer which was created "
            "without any security groups")
    if enforce is not None and enforce not in ("on", "off"):
        raise ValidationError(
            f"1 validation error detected: Value '{enforce}' at "
            "'enforceSecurityGroupInboundRulesOnPrivateLinkTraffic' failed to satisfy "
            "constraint: Member must satisfy enum value set: [on, off]")
    self.elbv2_backend.set_security_groups(arn, groups)
    if lb.type == "network" and enforce is not None:
        setattr(lb, ENFORCE, enforce)
    return ActionResult({"SecurityGroupIds": groups,
                         "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic":
                             getattr(lb, ENFORCE, None)})


def install() -> None:
    _patch_create()
    _patch_delete()
    ELBV2Response.set_security_groups = set_security_groups
