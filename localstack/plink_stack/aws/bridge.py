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

from . import aws_services, context, nlb, principals, s3, scheduler
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


# --- what a serverless task would meet on the way (Databricks `runs/submit` verify tasks) --------------
# The Databricks emulator does not run the task file: it asks here what the AWS side of each
# destination looks like (databricks/verify.py, CONTRACT.md "Bridge"). Nothing listens anywhere, so
# these answers are derived from the resources' state, as target health is (target_groups.py).

def endpoint_addresses(region: str, owner_account: str, vpce_id: str) -> list[str]:
    """Private IPs of that interface endpoint's ENIs (what its DNS names resolve to), sorted;
    [] when the endpoint is gone."""
    with context.LOCK:
        scheduler.tick()
        backend = ec2_backends[owner_account][region]
        endpoint = backend.vpc_end_points.get(vpce_id)
        if endpoint is None:
            return []
        return sorted(backend.enis[eni].private_ip_address
                      for eni in endpoint.network_interface_ids if eni in backend.enis)


def _dns_covers(entry: str, host: str) -> bool:
    """An endpoint DNS entry answers for `host`: the name itself, or any name under a `*.` entry."""
    entry, host = entry.lower().rstrip("."), host.lower().rstrip(".")
    if entry.startswith("*."):
        return host.endswith(entry[1:])
    return host == entry


def _first_label(name: str) -> str:
    return name.removeprefix("*.").split(".", 1)[0]


def resolve_endpoint_name(host: str) -> list[str] | None:
    """What public DNS answers for an interface endpoint's DNS name (AWS publishes these names with
    the ENIs' *private* IPs, so they resolve from anywhere but route only inside the VPC): the IPs of
    the ENIs the name stands for (a zonal name only that zone's ENI), in any account and region;
    None when no endpoint has such a name."""
    with context.LOCK:
        scheduler.tick()
        for _, _, backend in ec2_backends.iter_backends():
            for endpoint in list(backend.vpc_end_points.values()):
                names = [e.get("DnsName", "") for e in getattr(endpoint, "dns_entries", None) or []]
                for i, name in enumerate(names):
                    if not _dns_covers(name, host):
                        continue
                    enis = [backend.enis[e] for e in endpoint.network_interface_ids if e in backend.enis]
                    if i > 0:  # a zonal entry: its first label is the regional one's plus "-<zone>"
                        zone = _first_label(name)[len(_first_label(names[0])) + 1:]
                        enis = [e for e in enis if e.subnet is not None and e.subnet.availability_zone == zone]
                    return sorted(e.private_ip_address for e in enis)
        return None


def _forwarded_groups(elbv2: Any, listener: Any) -> list[Any]:
    arns = []
    for action in listener.default_actions:
        data = action.data if hasattr(action, "data") else action
        if str(data.get("Type", "")).lower() != "forward":
            continue
        if data.get("TargetGroupArn"):
            arns.append(data["TargetGroupArn"])
        arns += [g.get("TargetGroupArn") for g in (data.get("ForwardConfig") or {}).get("TargetGroups", [])]
    return [elbv2.target_groups[a] for a in arns if a in elbv2.target_groups]


def _groups_allow(ec2: Any, group_ids: list[str], port: int) -> bool:
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        for rule in getattr(group, "ingress_rules", []) if group is not None else []:
            if str(rule.ip_protocol) not in ("-1", "tcp", "6"):
                continue
            if rule.from_port is None or rule.from_port <= port <= rule.to_port:
                return True
    return False


def service_path(region: str, service_name: str, port: int) -> str | None:
    """For traffic to TCP `port` arriving through a customer endpoint service: None when it reaches a
    target (the service's NLB is `active`, has a listener on `port` forwarding to a target group with
    at least one `healthy` target, and -- when the NLB has security groups enforced on PrivateLink
    traffic -- an inbound rule allows TCP `port`); else the first reason it does not, e.g.
    `load balancer plink-nlb has no listener on port 5432`. Sources of SG rules are not compared
    (PrivateLink traffic reaches the NLB from its own addresses; any rule for the port counts)."""
    with context.LOCK:
        scheduler.tick()
        service = principals.find_service(region, service_name)
        if service is None:
            return f"endpoint service {service_name} does not exist"
        elbv2 = service.ec2_backend.elbv2_backend
        arns = list(service.network_load_balancer_arns)
        if not arns:
            return f"endpoint service {service_name} has no network load balancer"
        reasons = []
        for arn in arns:
            lb = elbv2.load_balancers.get(arn)
            if lb is None:
                reasons.append(f"load balancer {arn} does not exist")
                continue
            if lb.state != "active":
                reasons.append(f"load balancer {lb.name} is {lb.state}")
                continue
            listener = next((x for x in lb.listeners.values() if str(x.port) == str(port)), None)
            if listener is None:
                reasons.append(f"load balancer {lb.name} has no listener on port {port}")
                continue
            groups = _forwarded_groups(elbv2, listener)
            health = [tg.health_for(t, elbv2.ec2_backend).status for tg in groups for t in tg.targets.values()]
            if "healthy" not in health:
                states = ", ".join(sorted(set(health))) or "no targets"
                reasons.append(f"load balancer {lb.name} port {port}: no healthy target ({states})")
                continue
            enforced = getattr(lb, nlb.ENFORCE, None) == "on"
            if lb.security_groups and enforced and not _groups_allow(elbv2.ec2_backend, lb.security_groups, port):
                reasons.append(f"security groups {', '.join(lb.security_groups)} of load balancer {lb.name} allow "
                               f"no inbound TCP {port} (inbound rules are enforced on PrivateLink traffic)")
                continue
            return None
        return "; ".join(reasons)


def s3_list_objects(bucket: str, region: str) -> dict:
    """What ListObjectsV2 on `bucket` through `region`'s S3 endpoint answers, as data:
    `{"status": 200, "key_count": n}` (n up to 1000, as one page), `{"status": 404, "code":
    "NoSuchBucket"}`, or `{"status": 301, "code": "PermanentRedirect", "bucket_region": r}` for a
    bucket in another region. Bucket policies are not evaluated (no caller identity here)."""
    with context.LOCK:
        found = _bucket(bucket)
        if found is None:
            return {"status": 404, "code": "NoSuchBucket"}
        if found.region_name != region:
            return {"status": 301, "code": "PermanentRedirect", "bucket_region": found.region_name}
        return {"status": 200, "key_count": min(len(list(found.keys.keys())), 1000)}
