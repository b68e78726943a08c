"""Endpoint service configurations: AWS-shaped ids, `Pending` -> `Available`, and deletion that
refuses services with live connections (local-emulators.md gap 9, plus the id format of gap 8's
services).

moto 5.2.5 creates `vpce-svc-` + 8 hex ids in state `Available` at once and deletes any service
unconditionally. AWS:
- ids are `vpce-svc-` + 17 hex digits; the service is `Available` at once, as with AWS, or
  `Pending` for `settings.Delays.service_pending` when that delay is set;
- DescribeVpcEndpointServiceConfigurations honours its Filters (moto ignores them and returns every
  service): `service-name`, `service-id`, `service-state`, `service-type`,
  `supported-ip-address-types`, `tag:<key>`, `tag-key`; and MaxResults/NextToken;
- DeleteVpcEndpointServiceConfigurations leaves a service that still has `pendingAcceptance`,
  `pending` or `available` endpoint connections in place and reports it in `Unsuccessful` with
  `ExistingVpcEndpointConnections` / "Service has existing active VPC Endpoint connections!";
  unknown ids are reported as `InvalidVpcEndpointService.NotFound`.
"""
from __future__ import annotations

import functools
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.utils import generic_filter
from moto.ec2.models.vpc_service_configuration import VPCServiceConfiguration
from moto.ec2.responses.vpc_service_configuration import VPCEndpointServiceConfiguration

from . import ids, scheduler

LIVE_CONNECTION_STATES = ("pendingAcceptance", "pending", "available")


def connections(config: Any) -> dict:
    """vpce id -> endpoint_connections.Connection of this service (created on first use)."""
    return config.__dict__.setdefault("_plink_connections", {})


def _patch_init() -> None:
    original = VPCServiceConfiguration.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        region = self.service_name.split(".")[3]
        self.id = ids.service_id()
        self.service_name = f"com.amazonaws.vpce.{region}.{self.id}"
        self.endpoint_dns_name = f"{self.id}.{region}.vpce.amazonaws.com"
        self.availability_zones = sorted(set(self.availability_zones))
        connections(self)
        # AWS answers the create with `Available` already (field-update-2026-12.md §5.1), the
        # default here; a `service_pending` delay > 0 models a slower service.
        if scheduler.delay_seconds("service_pending") <= 0:
            self.service_state = "Available"
            return
        self.service_state = "Pending"

        def become_available() -> None:
            if self.service_state == "Pending":
                self.service_state = "Available"

        scheduler.after("service_pending", become_available)

    VPCServiceConfiguration.__init__ = __init__


def _patch_to_dict() -> None:
    """ServiceDetail (DescribeVpcEndpointServices) of a custom service; moto omits `Tags`, which its
    own tag filters then fail on."""
    original = VPCServiceConfiguration.to_dict

    @functools.wraps(original)
    def to_dict(self: Any) -> dict:
        detail = original(self)
        detail["Tags"] = [{"Key": t["key"], "Value": t["value"]} for t in self.get_tags()]
        detail["SupportedIpAddressTypes"] = ["ipv4"]
        detail["PrivateDnsNameVerificationState"] = "verified" if self.private_dns_name else None
        return {k: v for k, v in detail.items() if v is not None}

    VPCServiceConfiguration.to_dict = to_dict


def _patch_filters() -> None:
    original = VPCServiceConfiguration.get_filter_value
    extra = {"service-type": lambda c: c._service_type_name,
             "supported-ip-address-types": lambda c: ["ipv4"]}

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name in extra:
            return extra[filter_name](self)
        return original(self, filter_name, "DescribeVpcEndpointServiceConfigurations")

    VPCServiceConfiguration.get_filter_value = get_filter_value


def describe_vpc_endpoint_service_configurations(self: Any) -> ActionResult:
    """Response method replacing moto's (see module docstring)."""
    configs = self.ec2_backend.describe_vpc_endpoint_service_configurations(
        self._get_param("ServiceIds", []))
    configs = generic_filter(self._filters_from_querystring(), configs)
    max_results = self._get_int_param("MaxResults") or 1000
    start = int(self._get_param("NextToken") or 0)
    page = configs[start:start + max_results]
    following = str(start + max_results) if start + max_results < len(configs) else None
    return ActionResult({"ServiceConfigurations": page, "NextToken": following})


def delete_vpc_endpoint_service_configurations(self: Any) -> ActionResult:
    """Response method replacing moto's (see module docstring)."""
    backend = self.ec2_backend
    unsuccessful = []
    for service_id in self._get_param("ServiceIds", []):
        config = backend.configurations.get(service_id)
        if config is None:
            unsuccessful.append(_failure(
                service_id, "InvalidVpcEndpointService.NotFound",
                f"The VpcEndpointService Id '{service_id}' does not exist"))
            continue
        live = [c for c in connections(config).values() if c.vpc_endpoint_state in LIVE_CONNECTION_STATES]
        if live:
            unsuccessful.append(_failure(
                service_id, "ExistingVpcEndpointConnections",
                "Service has existing active VPC Endpoint connections!"))
            continue
        config.service_state = "Deleted"
        del backend.configurations[service_id]
    return ActionResult({"Unsuccessful": unsuccessful})


def _failure(resource_id: str, code: str, message: str) -> dict:
    return {"ResourceId": resource_id, "Error": {"Code": code, "Message": message}}


def install() -> None:
    _patch_init()
    _patch_to_dict()
    _patch_filters()
    cls = VPCEndpointServiceConfiguration
    cls.describe_vpc_endpoint_service_configurations = describe_vpc_endpoint_service_configurations
    cls.delete_vpc_endpoint_service_configurations = delete_vpc_endpoint_service_configurations
