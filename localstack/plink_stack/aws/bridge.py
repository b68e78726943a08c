"""What the Databricks emulator does in AWS, as Databricks' own AWS account (see CONTRACT.md).

When a Databricks NCC private endpoint rule is created, Databricks creates an interface VPC endpoint
in *its* AWS account (565502421330) to the customer's endpoint service, as the principal
`arn:aws:iam::565502421330:role/private-connectivity-role-<region>`. These functions do exactly that
through the same patched moto backends the AWS API uses, so the customer sees the connection in
DescribeVpcEndpointConnections, and allowed-principal checks apply. The consumer VPC (one per account
and region, with a subnet per Availability Zone the service needs) is created on demand.
Thread-safe: everything runs under `context.LOCK`, after due state transitions (`scheduler.tick`).

For native S3 rules (endpoint to `com.amazonaws.<region>.s3`), `s3_buckets_allow` tells the
Databricks side whether every bucket of the rule lets that endpoint in (`aws:SourceVpce`).
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends

from . import aws_services, context, principals, s3, scheduler
from .endpoint_services import connections

DATABRICKS_ACCOUNT = "565502421330"
CONSUMER_VPC_CIDR = "10.250.0.0/16"


class EndpointServiceNotFound(Exception):
    """No such service name in that region."""


class PrincipalNotAllowed(Exception):
    """The principal is not in the service's allowed principals."""


def principal_for(region: str) -> str:
    return f"arn:aws:iam::{DATABRICKS_ACCOUNT}:role/private-connectivity-role-{region}"


def _consumer_subnets(backend: Any, zones: list[str]) -> tuple[str, list[str]]:
    net = backend.__dict__.setdefault("_plink_bridge_network", {})
    if "vpc_id" not in net:
        vpc = backend.create_vpc(CONSUMER_VPC_CIDR, tags=[
            {"Key": "Name", "Value": "databricks-serverless-privatelink"}])
        net.update(vpc_id=vpc.id, subnets={})
    for zone in zones:
        if zone not in net["subnets"]:
            octet = len(net["subnets"]) + 1
            subnet = backend.create_subnet(net["vpc_id"], f"10.250.{octet}.0/24", availability_zone=zone,
                                           tags={"subnet": {"Name": f"databricks-serverless-{zone}"}})
            net["subnets"][zone] = subnet.id
    return net["vpc_id"], [net["subnets"][z] for z in zones]


def create_consumer_endpoint(region: str, service_name: str, owner_account: str,
                             principal_arn: str, tags: dict[str, str]) -> str:
    """As `principal_arn` of `owner_account`, create an Interface VPC endpoint to `service_name`
    (in a VPC of owner_account created on demand). Returns the vpce id. The service sees a
    connection in `pendingAcceptance` (acceptance required) or `available` (after `pending`)."""
    who = context.Caller(owner_account, principal_arn)
    with context.LOCK, context.acting_as(who):
        scheduler.tick()
        service = principals.find_service(region, service_name)
        if service is None:
            if not aws_services.is_aws_service(region, service_name):
                raise EndpointServiceNotFound(service_name)
            zones = [f"{region}a", f"{region}b"]
        else:
            if not principals.can_use(service, who):
                raise PrincipalNotAllowed(f"{principal_arn} may not connect to {service_name}")
            zones = list(service.availability_zones)
        backend = ec2_backends[owner_account][region]
        vpc_id, subnet_ids = _consumer_subnets(backend, zones)
        endpoint = backend.create_vpc_endpoint(
            vpc_id=vpc_id, service_name=service_name, endpoint_type="Interface",
            policy_document=None, route_table_ids=[], subnet_ids=subnet_ids,
            tags=dict(tags or {}), private_dns_enabled=False)
        return endpoint.id


def connection_state(region: str, service_name: str, vpce_id: str) -> str | None:
    """State of that endpoint's connection as the service side sees it
    (pendingAcceptance|pending|available|rejected|deleting|deleted), None if unknown.
    For an AWS service (e.g. S3) it is the endpoint's own state."""
    with context.LOCK:
        scheduler.tick()
        service = principals.find_service(region, service_name)
        if service is not None:
            conn = connections(service).get(vpce_id)
            return conn.vpc_endpoint_state if conn is not None else None
        for _, backend_region, backend in ec2_backends.iter_backends():
            if backend_region == region and vpce_id in backend.vpc_end_points:
                endpoint = backend.vpc_end_points[vpce_id]
                if endpoint.service_name == service_name:
                    return endpoint.state
        return None


def delete_consumer_endpoint(region: str, owner_account: str, vpce_id: str) -> None:
    with context.LOCK, context.acting_as(context.Caller.root(owner_account)):
        scheduler.tick()
        ec2_backends[owner_account][region].delete_vpc_endpoints([vpce_id])


def _bucket(name: str) -> Any | None:
    """The bucket of that name, in whichever account owns it (one global namespace, as on AWS)."""
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def s3_buckets_allow(region: str, buckets: list[str], vpce_id: str) -> str | None:
    """None when every bucket exists in `region` and its policy has an `Allow` statement whose
    `Condition` ties `aws:SourceVpce` to `vpce_id` (see `s3.source_vpce_allowed`); else a short
    reason naming each bucket that does not (missing, other region, no policy, no such statement).
    Buckets are looked up by name in the account that owns them (the customer's, normally)."""
    reasons = []
    with context.LOCK:
        for name in buckets:
            bucket = _bucket(name)
            if bucket is None:
                reasons.append(f"bucket {name}: does not exist")
            elif bucket.region_name != region:
                reasons.append(f"bucket {name}: is in {bucket.region_name}, not {region}")
            elif bucket.policy is None:
                reasons.append(f"bucket {name}: has no bucket policy allowing aws:SourceVpce {vpce_id}")
            elif not s3.source_vpce_allowed(bucket.policy, vpce_id):
                reasons.append(f"bucket {name}: no statement allows aws:SourceVpce {vpce_id}")
    return "; ".join(reasons) or None
