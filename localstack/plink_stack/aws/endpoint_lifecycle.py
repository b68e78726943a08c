"""Consumer-side VPC endpoints: validation, states and deletion (local-emulators.md gaps 2 and 9).

moto 5.2.5 makes every endpoint `available` at once, accepts any service name, and deletes by
marking `deleted` without reporting unknown ids. AWS, as emulated here:
- the service must exist and be visible to the caller (`InvalidServiceName` otherwise: a service of
  another account whose AllowedPrincipals do not admit the caller looks like no service at all);
- an interface endpoint needs subnets of its VPC, at most one per Availability Zone, in zones the
  endpoint service offers (`InvalidParameter`), and security groups of its VPC (the default group
  when none is given); its ENIs and DNS names come from `endpoint_enis`;
- to a service with AcceptanceRequired the endpoint starts `pendingAcceptance` (the provider sees a
  connection, see `endpoint_connections`); to a service without it, or to an AWS service
  (`com.amazonaws.<region>.s3`), it is `pending` for `Delays.endpoint_pending`, then `available`;
  gateway endpoints are `available` at once;
- DeleteVpcEndpoints puts the endpoint in `deleting`, and after `Delays.endpoint_deleting` it is
  `deleted` and gone (with its ENIs); unknown or already deleted ids come back in `Unsuccessful`
  as `InvalidVpcEndpointId.NotFound`.
"""
from __future__ import annotations

import functools
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import (InvalidParameter, InvalidSecurityGroupNotFoundError,
                                 InvalidServiceName)
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses.vpcs import VPCs

from . import aws_services, context, endpoint_connections, endpoint_enis, principals, scheduler

GATEWAY_SERVICES = ("s3", "dynamodb")


def _resolve_service(backend: Any, service_name: str, interface: bool) -> Any | None:
    """The custom endpoint service configuration, or None for an AWS service; raises like AWS."""
    region = backend.region_name
    if service_name.startswith(f"com.amazonaws.vpce.{region}."):
        service = principals.find_service(region, service_name)
        if service is None or not principals.can_use(service, context.caller(backend.account_id)):
            raise InvalidServiceName(service_name)
        if not interface:
            raise InvalidParameter(
                f"The Vpc Endpoint Service '{service_name}' does not support endpoint type 'Gateway'.")
        return service
    if not aws_services.is_aws_service(region, service_name):
        raise InvalidServiceName(service_name)
    short = service_name[len(f"com.amazonaws.{region}."):]
    if not interface and short not in GATEWAY_SERVICES:
        raise InvalidParameter(
            f"The Vpc Endpoint Service '{service_name}' does not support endpoint type 'Gateway'.")
    return None


def _subnets(backend: Any, vpc_id: str, subnet_ids: list[str], service: Any | None) -> list[Any]:
    subnets, zones = [], {}
    for subnet_id in subnet_ids:
        subnet = backend.get_subnet(subnet_id)
        if subnet.vpc_id != vpc_id:
            raise InvalidParameter(f"The subnet ID '{subnet_id}' does not belong to the VPC '{vpc_id}'.")
        az = subnet.availability_zone
        if az in zones:
            raise InvalidParameter(
                f"Found another VPC endpoint subnet in the availability zone of {subnet_id}. VPC "
                "endpoint subnets should be in different availability zones supported by the VPC "
                "endpoint service.")
        if service is not None and az not in service.availability_zones:
            raise InvalidParameter(
                f"The VPC endpoint service {service.service_name} does not support the "
                f"availability zone of the subnet: {subnet_id}.")
        zones[az] = subnet
        subnets.append(subnet)
    return subnets


def _groups(backend: Any, vpc_id: str, group_ids: list[str] | None) -> list[str]:
    if not group_ids:
        default = backend.get_default_security_group(vpc_id)
        return [default.id] if default else []
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            raise InvalidSecurityGroupNotFoundError(group_id)
        if group.vpc_id != vpc_id:
            raise InvalidParameter(
                f"The security group '{group_id}' does not belong to the VPC '{vpc_id}'.")
    return list(group_ids)


def check_create(backend: Any, vpc_id: str, service_name: str, endpoint_type: str | None,
                 subnet_ids: list[str] | None,
                 security_group_ids: list[str] | None) -> tuple[bool, Any | None, list[Any], list[str]]:
    """What CreateVpcEndpoint checks before it creates anything (also for a dry run, `dry_run.py`);
    raises as AWS answers. Returns (interface?, the custom service or None, subnets, group ids)."""
    backend.get_vpc(vpc_id)
    interface = (endpoint_type or "Gateway").lower() == "interface"
    service = _resolve_service(backend, service_name, interface)
    subnets = _subnets(backend, vpc_id, subnet_ids or [], service) if interface else []
    groups = _groups(backend, vpc_id, security_group_ids) if interface else []
    return interface, service, subnets, groups


def _become(endpoint: Any, frm: str, to: str) -> None:
    if endpoint.state == frm:
        endpoint.state = to


def _patch_create() -> None:
    original = VPCBackend.create_vpc_endpoint

    @functools.wraps(original)
    def create_vpc_endpoint(self: Any, vpc_id: str, service_name: str, endpoint_type: str | None,
                            policy_document: str | None, route_table_ids: list[str],
                            subnet_ids: list[str] | None = None, network_interface_ids: Any = None,
                            dns_entries: Any = None, client_token: str | None = None,
                            security_group_ids: list[str] | None = None,
                            tags: dict[str, str] | None = None,
                            private_dns_enabled: bool | None = None) -> Any:
        interface, service, subnets, groups = check_create(
            self, vpc_id, service_name, endpoint_type, subnet_ids, security_group_ids)
        if service is not None and not service.private_dns_name:
            private_dns_enabled = False
        endpoint = original(self, vpc_id=vpc_id, service_name=service_name,
                            endpoint_type=endpoint_type, policy_document=policy_document,
                            route_table_ids=route_table_ids, subnet_ids=None,
                            client_token=client_token, security_group_ids=groups, tags=tags,
                            private_dns_enabled=private_dns_enabled if interface else None)
        endpoint.requester_managed = False
        endpoint.ip_address_type = "ipv4" if interface else None
        if interface:
            endpoint.subnet_ids = [s.id for s in subnets]
            endpoint_enis.attach(self, endpoint, subnets, groups)
            endpoint.dns_options = {"DnsRecordIpType": "ipv4"}
        if service is not None:
            endpoint_connections.register(service, endpoint, self.account_id, self.region_name)
        if service is not None and service.acceptance_required:
            endpoint.state = "pendingAcceptance"
        elif interface:
            endpoint.state = "pending"
            scheduler.after("endpoint_pending", lambda: _become(endpoint, "pending", "available"))
        return endpoint

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint


def _patch_delete() -> None:
    original = VPCBackend.delete_vpc_endpoints

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> list[str]:
        """Start deleting; returns the ids that do not exist (moto's returned nothing)."""
        missing = []
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if endpoint is None or endpoint.state == "deleted":
                missing.append(vpce_id)
                continue
            if endpoint.state == "deleting":
                continue
            endpoint.state = "deleting"
            scheduler.after("endpoint_deleting", functools.partial(_finish_delete, self, endpoint))
        return missing

    def _finish_delete(self: Any, endpoint: Any) -> None:
        if (endpoint.vpc_endpoint_type or "").lower() == "interface":
            endpoint_enis.release(self, endpoint)
        else:
            original(self, [endpoint.id])  # removes its gateway routes
        endpoint.state = "deleted"
        self.vpc_end_points.pop(endpoint.id, None)

    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints


def delete_vpc_endpoints_response(self: Any) -> ActionResult:
    missing = self.ec2_backend.delete_vpc_endpoints(vpce_ids=self._get_param("VpcEndpointIds", []))
    return ActionResult({"Unsuccessful": [
        {"ResourceId": vpce_id, "Error": {"Code": "InvalidVpcEndpointId.NotFound",
                                          "Message": f"The VpcEndpoint ID '{vpce_id}' does not exist"}}
        for vpce_id in missing]})


def _patch_filters() -> None:
    original = VPCEndPoint.get_filter_value
    extra = {"vpc-endpoint-id": "id", "service-name": "service_name", "vpc-id": "vpc_id",
             "ip-address-type": "ip_address_type"}

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name in extra:
            return getattr(self, extra[filter_name], None)
        return original(self, filter_name, method_name)

    VPCEndPoint.get_filter_value = get_filter_value


def install() -> None:
    _patch_create()
    _patch_delete()
    _patch_filters()
    VPCs.delete_vpc_endpoints = delete_vpc_endpoints_response
