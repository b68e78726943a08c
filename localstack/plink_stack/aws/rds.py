"""RDS on the AWS port: moto 5.2.5's own RDS backend (Query protocol, SigV4 service `rds`), with
addresses that plink can resolve and register behind an NLB, and failover that moves them.

plink's `nlb-service` kind takes an RDS DB instance or an Aurora cluster as target: it reads the
endpoint address (`Endpoint.Address` + `Endpoint.Port` of an instance, `Endpoint` + `Port` of a
cluster: the writer), resolves it with the system resolver and registers the IPv4 behind the NLB; a
failover makes the name resolve to another IP, which plink reports as drift. The stack has no DNS, so
the **address is an IPv4 literal** (a resolver returns a literal as is): plink's code path stays the
one it runs on AWS, and a failover visibly moves the address. moto answers DNS names
(`<id>.aaaaaaaaaa.<region>.rds.amazonaws.com`) that resolve nowhere, places every instance in
`<region>a`, and does not fail over a Multi-AZ instance.

This module adds:

* **Addresses.** Every DB instance lives in the subnets of its DB subnet group (the cluster's for an
  Aurora member; without one, the `default` group of the default VPC, created on first use as AWS
  does). It gets a requester-managed ENI (`Description: RDSNetworkInterface`, the instance's VPC
  security groups, or the VPC's default group) with a free private IP of the subnet, chosen
  deterministically from the instance identifier; `Endpoint.Address` is that IP and `Endpoint.Port`
  the engine's (5432 postgres / aurora-postgresql, 3306 mysql / aurora-mysql) unless `Port` is given.
  The subnet: the first of the group (subnets sorted by CIDR) in `AvailabilityZone` if given, else the
  first of the group for a stand-alone instance, and for the k-th member of an Aurora cluster the
  k-th subnet (round robin), so writer and reader sit in different AZs. `AvailabilityZone` reports
  that subnet's zone. The ENIs make the address a target the NLB's health check finds (`target_groups`)
  and keep subnets and groups in use (`dependencies`) while the instance exists; they go with it.
* **Multi-AZ.** `MultiAZ=true` (at create or by ModifyDBInstance) adds a standby ENI in the first
  subnet of another AZ of the group (`SecondaryAvailabilityZone`). RebootDBInstance with
  `ForceFailover=true` swaps primary and standby: `Endpoint.Address` becomes the standby's IP, the old
  primary's IP the standby's. ForceFailover on an instance that is not Multi-AZ →
  `InvalidParameterCombination` (moto ignores the parameter).
* **Aurora.** The cluster's `Endpoint` (writer) is the address of the member with
  `IsClusterWriter` (the first member created), `ReaderEndpoint` the address of the first other member
  (the writer's while it is alone); a cluster without members keeps moto's DNS names. `Port` as above.
  FailoverDBCluster moves the writer to `TargetDBInstanceIdentifier` (which must be a member:
  `InvalidParameterValue` otherwise; moto accepts any instance) or to the next member, so `Endpoint`
  now reports the new writer's address. Members report the cluster's `DBSubnetGroup` (moto: none);
  a cluster created without `VpcSecurityGroupIds` reports its VPC's default group (moto: none).
* **Subnet groups.** CreateDBSubnetGroup / ModifyDBSubnetGroup refuse subnets covering fewer than two
  AZs (`DBSubnetGroupDoesNotCoverEnoughAZs`, as AWS; moto accepts one subnet); CreateDBCluster and
  CreateDBInstance refuse an unknown `DBSubnetGroupName` (`DBSubnetGroupNotFoundFault`; moto stores
  any name on a cluster); DeleteDBSubnetGroup is refused while an instance uses the group
  (`InvalidDBSubnetGroupStateFault`).
* Call log and faults need nothing here: `faults.describe_aws` names the Query `Action` (service
  `rds`; Reboot*/Failover*/Start*/Stop* are mutating like Create*/Delete*/Modify*), and
  `errors.render` answers faults in the Query error shape with RDS's namespace.

Accounts and regions are moto's (any account, any region); the seeded demo VPC is in the customer
account, us-east-1 and us-west-2.
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress
from typing import Any

ENI_DESCRIPTION = "RDSNetworkInterface"
_NODES = "_plink_nodes"  # instance.__dict__ key: [primary, standby?], each a dict (subnet, az, ip, eni)


# --- addresses ------------------------------------------------------------------------------------

def _ec2(backend: Any) -> Any:
    """The EC2 backend of an RDS backend's account and region."""
    from moto.ec2.models import ec2_backends

    return ec2_backends[backend.account_id][backend.region_name]


def sorted_subnets(group: Any) -> list[Any]:
    """The subnets of a DB subnet group, by CIDR (a stable order; subnet ids are random)."""
    return sorted(group._subnets, key=lambda s: ipaddress.ip_network(s.cidr_block))


def deterministic_ip(ec2: Any, subnet: Any, key: str) -> str:
    """A free private IP of `subnet` (not the 4 first addresses nor the last), the same for the same
    `key` and the same used addresses."""
    net = ipaddress.ip_network(subnet.cidr_block)
    used = {eni.private_ip_address for eni in ec2.enis.values() if eni.subnet is not None and eni.subnet.id == subnet.id}
    used |= set(subnet._subnet_ips)
    first, last = int(net.network_address) + 4, int(net.broadcast_address) - 1
    size = last - first + 1
    start = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % size
    for step in range(size):
        candidate = str(ipaddress.ip_address(first + (start + step) % size))
        if candidate not in used:
            return candidate
    raise RuntimeError(f"no free address left in {subnet.id}")


def _group_ids(instance: Any, ec2: Any, vpc_id: str) -> list[str]:
    cluster = getattr(instance, "cluster", None)
    ids = list((cluster.vpc_security_group_ids if cluster is not None else instance.vpc_security_group_ids) or [])
    if not ids:
        default = ec2.get_default_security_group(vpc_id)
        ids = [default.id] if default is not None else []
    return ids


def _add_node(instance: Any, subnet: Any, role: str) -> dict:
    ec2 = _ec2(instance.backend)
    ip = deterministic_ip(ec2, subnet, f"{instance.account_id}/{instance.region}/{instance.db_instance_identifier}/{role}")
    eni = ec2.create_network_interface(subnet, ip, group_ids=_group_ids(instance, ec2, subnet.vpc_id),
                                       description=ENI_DESCRIPTION)
    subnet.request_ip(ip, eni)
    eni.requester_managed = True
    eni.status = "in-use"
    node = {"subnet": subnet.id, "az": subnet.availability_zone, "ip": ip, "eni": eni.id}
    instance.__dict__.setdefault(_NODES, []).append(node)
    return node


def _drop_node(instance: Any, node: dict) -> None:
    ec2 = _ec2(instance.backend)
    eni = ec2.enis.pop(node["eni"], None)
    if eni is not None and eni.subnet is not None:
        eni.subnet.del_subnet_ip(eni.private_ip_address)
    nodes = instance.__dict__.get(_NODES, [])
    if node in nodes:
        nodes.remove(node)


def release(instance: Any) -> None:
    for node in list(instance.__dict__.get(_NODES, [])):
        _drop_node(instance, node)


def nodes(instance: Any) -> list[dict]:
    return instance.__dict__.get(_NODES, [])


def _sync_zones(instance: Any) -> None:
    placed = nodes(instance)
    if placed:
        instance.availability_zone = placed[0]["az"]
    instance.secondary_availability_zone = placed[1]["az"] if len(placed) > 1 else None


def _add_standby(instance: Any, group: Any) -> None:
    primary_az = nodes(instance)[0]["az"]
    other = [s for s in sorted_subnets(group) if s.availability_zone != primary_az]
    if other:
        _add_node(instance, other[0], "standby")
    _sync_zones(instance)


def place(instance: Any, group: Any, requested_az: str | None, member_index: int | None) -> None:
    """Give a new instance its primary address (and a standby one when Multi-AZ)."""
    subnets = sorted_subnets(group)
    if requested_az:
        in_az = [s for s in subnets if s.availability_zone == requested_az]
        if not in_az:
            from moto.rds.exceptions import InvalidParameterCombination

            raise InvalidParameterCombination(
                f"No default subnet was found in the availability zone {requested_az} "
                f"of DB subnet group {group.name}.")  # never placed outside the group
        subnet = in_az[0]
    elif member_index is not None:
        subnet = subnets[member_index % len(subnets)]
    else:
        subnet = subnets[0]
    _add_node(instance, subnet, "primary")
    if instance.multi_az and member_index is None:
        _add_standby(instance, group)
    _sync_zones(instance)


def default_subnet_group(backend: Any) -> Any:
    """The `default` DB subnet group (the default VPC's default subnets), created on first use."""
    existing = backend.subnet_groups.get("default")
    if existing is not None:
        return existing
    ec2 = _ec2(backend)
    vpc = ec2.default_vpc
    subnets = [s for s in ec2.describe_subnets(filters={"vpc-id": [vpc.id]})] if vpc is not None else []
    return backend.create_subnet_group("default", "default", subnets, [])


def failover_instance(instance: Any) -> None:
    """Multi-AZ forced failover: the standby becomes the primary."""
    placed = nodes(instance)
    placed[0], placed[1] = placed[1], placed[0]
    _sync_zones(instance)


# --- moto patches --------------------------------------------------------------------------------

def _patch_addresses() -> None:
    from moto.rds.models import DBCluster, DBInstance

    instance_address = DBInstance.address.fget

    def address(self: Any) -> str:
        placed = nodes(self)
        return placed[0]["ip"] if placed else instance_address(self)

    DBInstance.address = property(address)

    cluster_endpoint = DBCluster.endpoint.fget
    cluster_reader = DBCluster.reader_endpoint.fget

    def _placed_members(cluster: Any) -> list[Any]:
        return [m for m in cluster.members if nodes(m)]

    def endpoint(self: Any) -> str:
        writer = next((m for m in _placed_members(self) if m.is_cluster_writer), None)
        return writer.address if writer is not None else cluster_endpoint(self)

    def reader_endpoint(self: Any) -> str:
        members = _placed_members(self)
        reader = next((m for m in members if not m.is_cluster_writer), None) or \
            next((m for m in members if m.is_cluster_writer), None)
        return reader.address if reader is not None else cluster_reader(self)

    DBCluster.endpoint = property(endpoint)
    DBCluster.reader_endpoint = property(reader_endpoint)


def _patch_subnet_groups() -> None:
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import RDSBackend

    def check_coverage(subnets: list[Any]) -> None:
        zones = sorted({s.availability_zone for s in subnets})
        if len(zones) < 2:
            raise RDSClientError(
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                f"Current AZ coverage: {', '.join(zones)}. Add subnets to cover at least 2 AZs.")

    create = RDSBackend.create_subnet_group

    @functools.wraps(create)
    def create_subnet_group(self: Any, subnet_name: str, description: str, subnets: list[Any],
                            tags: list[dict[str, str]]) -> Any:
        if subnet_name.lower() != "default":
            check_coverage(subnets)
        return create(self, subnet_name, description, subnets, tags)

    RDSBackend.create_subnet_group = create_subnet_group

    modify = RDSBackend.modify_db_subnet_group

    @functools.wraps(modify)
    def modify_db_subnet_group(self: Any, subnet_name: str, description: str, subnets: list[Any]) -> Any:
        self.describe_db_subnet_groups(subnet_name)  # DBSubnetGroupNotFoundFault first
        check_coverage(subnets)
        return modify(self, subnet_name, description, subnets)

    RDSBackend.modify_db_subnet_group = modify_db_subnet_group

    delete = RDSBackend.delete_subnet_group

    @functools.wraps(delete)
    def delete_subnet_group(self: Any, subnet_name: str) -> Any:
        users = [i.db_instance_identifier for i in self.databases.values()
                 if getattr(i, "db_subnet_group", None) is not None
                 and i.db_subnet_group.name == subnet_name.lower()]
        if users:
            raise RDSClientError(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{subnet_name.lower()}' because at least one database "
                f"instance: {users[0]} is still using it.")
        return delete(self, subnet_name)

    RDSBackend.delete_subnet_group = delete_subnet_group


def _patch_lifecycle() -> None:
    from moto.rds.exceptions import DBClusterNotFoundError, InvalidParameterValue
    from moto.rds.models import DBInstanceClustered, RDSBackend

    create_cluster = RDSBackend.create_db_cluster

    @functools.wraps(create_cluster)
    def create_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
        name = kwargs.get("db_subnet_group_name")
        group = self.describe_db_subnet_groups(name)[0] if name else default_subnet_group(self)
        cluster = create_cluster(self, kwargs)
        if not cluster.vpc_security_group_ids:  # AWS: the VPC's default group (moto: none)
            default = _ec2(self).get_default_security_group(group.vpc_id)
            cluster.vpc_security_group_ids = [default.id] if default is not None else []
        return cluster

    RDSBackend.create_db_cluster = create_db_cluster

    create_instance = RDSBackend.create_db_instance

    @functools.wraps(create_instance)
    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        cluster_id = db_kwargs.get("db_cluster_identifier")
        group = None
        if cluster_id is None:
            name = db_kwargs.get("db_subnet_group_name")
            group = self.describe_db_subnet_groups(name)[0] if name else default_subnet_group(self)
            if not name:
                db_kwargs["db_subnet_group_name"] = group.name
        elif cluster_id.lower() not in self.clusters:
            raise DBClusterNotFoundError(
                cluster_id, f"The source cluster could not be found or cannot be accessed: {cluster_id}")
        database = create_instance(self, db_kwargs)
        ec2 = _ec2(self)
        try:
            if isinstance(database, DBInstanceClustered):
                cluster = database.cluster
                group = self.subnet_groups.get(cluster.db_subnet_group_name) or default_subnet_group(self)
                database.db_subnet_group = group
                place(database, group, db_kwargs.get("availability_zone"), len(cluster._members) - 1)
            else:
                if not db_kwargs.get("vpc_security_group_ids") and \
                        group.vpc_id != getattr(ec2.default_vpc, "id", None):
                    default = ec2.get_default_security_group(group.vpc_id)  # moto: the default VPC's
                    database.vpc_security_group_ids = [default.id] if default is not None else []
                place(database, group, db_kwargs.get("availability_zone"), None)
        except Exception:  # no half-created instance
            release(database)
            self.databases.pop(database.db_instance_identifier, None)
            raise
        return database

    RDSBackend.create_db_instance = create_db_instance

    delete_instance = RDSBackend.delete_db_instance

    @functools.wraps(delete_instance)
    def delete_db_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
        database = delete_instance(self, *args, **kwargs)
        release(database)
        return database

    RDSBackend.delete_db_instance = delete_db_instance

    modify_instance = RDSBackend.modify_db_instance

    @functools.wraps(modify_instance)
    def modify_db_instance(self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        database = modify_instance(self, db_instance_identifier, db_kwargs)
        placed = nodes(database)
        group = getattr(database, "db_subnet_group", None)
        if placed and group is not None and not isinstance(database, DBInstanceClustered):
            if database.multi_az and len(placed) == 1:
                _add_standby(database, group)
            elif not database.multi_az and len(placed) > 1:
                _drop_node(database, placed[1])
                _sync_zones(database)
            if db_kwargs.get("vpc_security_group_ids"):
                ec2 = _ec2(self)
                groups = [ec2.get_security_group_from_id(g) for g in database.vpc_security_group_ids]
                for node in nodes(database):
                    eni = ec2.enis.get(node["eni"])
                    if eni is not None:
                        eni._group_set = [g for g in groups if g is not None]
        return database

    RDSBackend.modify_db_instance = modify_db_instance

    failover_cluster = RDSBackend.failover_db_cluster

    @functools.wraps(failover_cluster)
    def failover_db_cluster(self: Any, db_cluster_identifier: str,
                            target_db_instance_identifier: str | None = None) -> Any:
        cluster = self.clusters.get(db_cluster_identifier.lower()) if db_cluster_identifier else None
        if cluster is not None and target_db_instance_identifier is not None:
            target = target_db_instance_identifier.lower()
            if target not in [m.db_instance_identifier for m in cluster.members]:
                raise InvalidParameterValue(
                    f"Cannot find target instance: {target_db_instance_identifier} in cluster "
                    f"{cluster.db_cluster_identifier}")
            target_db_instance_identifier = target
        return failover_cluster(self, db_cluster_identifier.lower() if db_cluster_identifier else
                                db_cluster_identifier, target_db_instance_identifier)

    RDSBackend.failover_db_cluster = failover_db_cluster


def _patch_reboot() -> None:
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import InvalidParameterCombination
    from moto.rds.models import RDSBackend
    from moto.rds.responses import RDSResponse

    def reboot_db_instance(self: Any, db_instance_identifier: str, force_failover: bool = False) -> Any:
        database = self.describe_db_instances(db_instance_identifier)[0]  # DBInstanceNotFound
        if force_failover:
            if not database.multi_az or len(nodes(database)) < 2:
                raise InvalidParameterCombination(
                    f"DB instance {database.db_instance_identifier} cannot be rebooted with force failover "
                    "because it is not a Multi-AZ DB instance.")
            failover_instance(database)
        return database

    RDSBackend.reboot_db_instance = reboot_db_instance

    def reboot_response(self: Any) -> ActionResult:
        force = self.params.get("ForceFailover")
        if isinstance(force, str):
            force = force.lower() == "true"
        database = self.backend.reboot_db_instance(self.params.get("DBInstanceIdentifier"), bool(force))
        return ActionResult({"DBInstance": database})

    RDSResponse.reboot_db_instance = reboot_response


def install() -> None:
    _patch_addresses()
    _patch_subnet_groups()
    _patch_lifecycle()
    _patch_reboot()
