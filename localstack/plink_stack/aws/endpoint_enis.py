"""Network interfaces and DNS entries of interface VPC endpoints (local-emulators.md gap 6).

moto 5.2.5 gives each interface endpoint ENIs with random 10.x addresses outside the subnet's CIDR,
carrying the VPC's default security group, typed and described like user ENIs, and DNS names of the
form `vpce-...-xxxx.<service name>`. AWS creates one requester-managed ENI per subnet:
- a free private IP inside that subnet's CIDR (never the 4 first addresses nor the last one);
- the endpoint's security groups (the VPC's default group when none were given);
- `InterfaceType: vpc_endpoint`, `RequesterManaged: true`, `Status: in-use`,
  `Description: "VPC Endpoint Interface vpce-..."`, an `Attachment` owned by `amazon-aws`;
and DNS entries: one regional name then one per AZ, e.g. for S3
`*.vpce-<id>-<suffix>.s3.<region>.vpce.amazonaws.com` and
`*.vpce-<id>-<suffix>-<az>.s3.<region>.vpce.amazonaws.com`, with the region's VPC endpoint hosted zone.
The ENIs go away with the endpoint (`release`). ModifyVpcEndpoint keeps them in step (moto only
edits the endpoint's lists): added subnets get an ENI, removed subnets lose theirs, and every ENI
carries the endpoint's current security groups.
"""
from __future__ import annotations

import ipaddress
import random
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidParameter
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.utils import random_resource_id

from . import ids

# Route 53 hosted zones of VPC endpoint DNS names (AWS publishes one per region).
HOSTED_ZONES = {"us-east-1": "Z7HUB22UULQXV", "us-west-2": "Z1YSA3EXCYUU9Z"}


class EndpointAttachment:
    """`Attachment` of a requester-managed endpoint ENI (no instance; owned by AWS)."""

    def __init__(self) -> None:
        self.attachment_id = f"ela-attach-{ids.hex17()}"
        self.attach_time = utcnow()
        self.delete_on_termination = False
        self.device_index = 1
        self.network_card_index = 0
        self.instance_id = None
        self.instance_owner_id = "amazon-aws"
        self.status = "attached"


def _free_ip(backend: Any, subnet: Any) -> str:
    net = ipaddress.ip_network(subnet.cidr_block)
    used = {eni.private_ip_address for eni in backend.enis.values() if eni.subnet.id == subnet.id}
    used |= set(subnet._subnet_ips)
    first, last = int(net.network_address) + 4, int(net.broadcast_address) - 1
    for _ in range(64):
        candidate = str(ipaddress.ip_address(random.randint(first, last)))
        if candidate not in used:
            return candidate
    for value in range(first, last + 1):
        candidate = str(ipaddress.ip_address(value))
        if candidate not in used:
            return candidate
    raise RuntimeError(f"no free address left in {subnet.id}")


def attach(backend: Any, endpoint: Any, subnets: list[Any], group_ids: list[str]) -> None:
    """Create the endpoint's ENIs (one per subnet) and its DNS entries."""
    endpoint.network_interface_ids = []
    _add_enis(backend, endpoint, subnets, group_ids)
    endpoint.dns_entries = dns_entries(backend.region_name, endpoint, [s.availability_zone for s in subnets])


def _add_enis(backend: Any, endpoint: Any, subnets: list[Any], group_ids: list[str]) -> None:
    for subnet in subnets:
        ip = _free_ip(backend, subnet)
        eni = backend.create_network_interface(
            subnet, ip, group_ids=group_ids,
            description=f"VPC Endpoint Interface {endpoint.id}")
        subnet.request_ip(ip, eni)
        eni.interface_type = "vpc_endpoint"
        eni.requester_managed = True
        eni.status = "in-use"
        eni.source_dest_check = True
        eni.__dict__["_plink_attachment"] = EndpointAttachment()
        endpoint.network_interface_ids.append(eni.id)


def release(backend: Any, endpoint: Any) -> None:
    for eni_id in endpoint.network_interface_ids:
        eni = backend.enis.pop(eni_id, None)
        if eni is not None and eni.subnet is not None:
            eni.subnet.del_subnet_ip(eni.private_ip_address)
    endpoint.network_interface_ids = []


def dns_entries(region: str, endpoint: Any, zones: list[str]) -> list[dict[str, str]]:
    service = endpoint.service_name
    if service.startswith(f"com.amazonaws.vpce.{region}."):
        suffix = f"{service.rsplit('.', 1)[1]}.{region}.vpce.amazonaws.com"
    else:
        suffix = f"{service[len(f'com.amazonaws.{region}.'):]}.{region}.vpce.amazonaws.com"
    wildcard = "*." if service == f"com.amazonaws.{region}.s3" else ""
    base = endpoint.__dict__.setdefault("_plink_dns_base", f"{endpoint.id}-{random_resource_id(8)}")
    zone_id = HOSTED_ZONES.get(region, random_resource_id(13).upper())
    names = [f"{wildcard}{base}.{suffix}"] + [f"{wildcard}{base}-{az}.{suffix}" for az in sorted(zones)]
    return [{"DnsName": name, "HostedZoneId": zone_id} for name in names]


def _patch_modify() -> None:
    original = VPCEndPoint.modify

    def modify(self: Any, policy_doc: Any, add_subnets: list[str] | None, remove_subnets: list[str] | None,
               add_route_tables: Any, remove_route_tables: Any, add_security_groups: list[str] | None,
               remove_security_groups: list[str] | None) -> None:
        if (self.vpc_endpoint_type or "").lower() != "interface":
            return original(self, policy_doc, add_subnets, remove_subnets, add_route_tables,
                            remove_route_tables, add_security_groups, remove_security_groups)
        backend = self.ec2_backend
        before = set(self.subnet_ids or [])
        new = [backend.get_subnet(s) for s in add_subnets or [] if s not in before]
        zones = {backend.get_subnet(s).availability_zone for s in before - set(remove_subnets or [])}
        for subnet in new:
            if subnet.vpc_id != self.vpc_id or subnet.availability_zone in zones:
                raise InvalidParameter(f"Subnet {subnet.id} cannot be added: it must be in the endpoint's VPC "
                                       "and in an Availability Zone the endpoint does not use yet.")
            zones.add(subnet.availability_zone)
        original(self, policy_doc, add_subnets, remove_subnets, add_route_tables, remove_route_tables,
                 add_security_groups, remove_security_groups)
        for eni_id in list(self.network_interface_ids):
            eni = backend.enis.get(eni_id)
            if eni is not None and eni.subnet.id in (remove_subnets or []):
                backend.enis.pop(eni_id)
                eni.subnet.del_subnet_ip(eni.private_ip_address)
                self.network_interface_ids.remove(eni_id)
        _add_enis(backend, self, new, self.security_group_ids)
        groups = [backend.get_security_group_from_id(g) for g in self.security_group_ids]
        for eni_id in self.network_interface_ids:
            backend.enis[eni_id]._group_set = [g for g in groups if g is not None]
        zones_now = [backend.enis[e].subnet.availability_zone for e in self.network_interface_ids]
        self.dns_entries = dns_entries(backend.region_name, self, zones_now)

    VPCEndPoint.modify = modify


def _patch_attachment() -> None:
    original = NetworkInterface.attachment

    def attachment(self: Any) -> Any:
        mine = self.__dict__.get("_plink_attachment")
        return mine if mine is not None else original.fget(self)

    NetworkInterface.attachment = property(attachment)


def install() -> None:
    _patch_attachment()
    _patch_modify()
