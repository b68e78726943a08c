"""Network connectivity configurations (databricks-api.md §2, limits §8.1).

Routes (account host): ``/api/2.0/accounts/{account_id}/network-connectivity-configs[/{id}]``
POST create, GET list (paged), GET one, DELETE, PATCH (Azure-only API, refused on AWS).

Choices for UNCONFIRMED items (§11), also listed in README.md:
* name unique per (account, region) -> 409 ``RESOURCE_ALREADY_EXISTS`` (lets clients reconcile on the
  natural key name+region, §7.5);
* more than 10 NCCs in a region -> 400 ``QUOTA_EXCEEDED``;
* DELETE while the NCC has non-deactivated rules or bound workspaces -> 400 ``INVALID_STATE`` with the
  messages quoted in §2.5; the same refusal continues for the scaled ``ncc_delete_settle`` delay after
  the last rule was deactivated or the last workspace was switched away (eventual consistency, §2.5).
  Deactivated rules (pending purge) do not block and are deleted with the NCC.
"""
import re

from .. import clock, settings
from . import errors, fixtures, paging, rules
from .context import Ctx, get_str
from .model import EndpointDeletion, Ncc, new_id, now_ms

NAME_RE = re.compile(r"^[0-9a-zA-Z_-]{3,30}$")
REGION_RE = re.compile(r"^(us|eu|ap|ca|sa|me|af|il|mx)(-gov)?-[a-z]+-[0-9]+$")
MAX_NCCS_PER_REGION = 10


def render(model, ncc: Ncc) -> dict:
    egress = {"default_rules": {"aws_stable_ip_rule": {"cidr_blocks": list(fixtures.STABLE_IP_CIDRS)}}}
    mirrored = [rules.render(r) for r in sorted(model.rules_of(ncc.id), key=lambda r: r.seq)]
    if mirrored:
        egress["target_rules"] = {"aws_private_endpoint_rules": mirrored}
    return {
        "network_connectivity_config_id": ncc.id,
        "account_id": ncc.account_id,
        "name": ncc.name,
        "region": ncc.region,
        "creation_time": ncc.creation_time,
        "updated_time": ncc.updated_time,
        "egress_config": egress,
    }


def lookup(model, account_id: str, ncc_id: str) -> Ncc:
    ncc = model.nccs.get(ncc_id)
    if ncc is None or ncc.account_id != account_id:
        raise errors.not_found(f"Network connectivity config {ncc_id} does not exist.")
    return ncc


def create(ctx: Ctx, account_id: str):
    body = ctx.body("network_connectivity_config")
    name = get_str(body, "name")
    region = get_str(body, "region")
    if not name:
        raise errors.invalid_parameter("Field 'name' is required.")
    if not NAME_RE.match(name):
        raise errors.invalid_parameter(
            f"Invalid name '{name}': must be 3-30 characters of letters, digits, '-' and '_' "
            "(^[0-9a-zA-Z-_]{3,30}$)."
        )
    if not region:
        raise errors.invalid_parameter("Field 'region' is required.")
    if not REGION_RE.match(region):
        raise errors.invalid_parameter(f"Invalid region '{region}'.")
    same_region = [n for n in ctx.model.nccs.values() if n.account_id == account_id and n.region == region]
    if any(n.name == name for n in same_region):
        raise errors.already_exists(
            f"Network connectivity config with name '{name}' already exists in region {region}."
        )
    if len(same_region) >= MAX_NCCS_PER_REGION:
        raise errors.quota_exceeded(
            f"Cannot create network connectivity config: the account already has {len(same_region)} "
            f"network connectivity configs in region {region} (limit {MAX_NCCS_PER_REGION} per region)."
        )
    ts = now_ms()
    ncc = Ncc(id=new_id(), account_id=account_id, name=name, region=region,
              creation_time=ts, updated_time=ts, seq=ctx.model.next_seq())
    ctx.model.nccs[ncc.id] = ncc
    return render(ctx.model, ncc)


def get(ctx: Ctx, account_id: str, ncc_id: str):
    return render(ctx.model, lookup(ctx.model, account_id, ncc_id))


def list_(ctx: Ctx, account_id: str):
    mine = [n for n in ctx.model.nccs.values() if n.account_id == account_id]
    return paging.page(f"nccs/{account_id}", mine, lambda n: render(ctx.model, n),
                       ctx.args.get("page_token"), paging.parse_page_size(ctx.args.get("page_size")))


def delete(ctx: Ctx, account_id: str, ncc_id: str):
    model = ctx.model
    ncc = lookup(model, account_id, ncc_id)
    has_rules_msg = (f"Network connectivity config {ncc_id} has one or more private endpoint rules. "
                     "Delete the private endpoint rules before deleting the network connectivity config.")
    attached_msg = (f"Network connectivity config {ncc_id} is unable to be deleted because it is attached "
                    "to one or more workspaces.")
    if any(not r.deactivated for r in model.rules_of(ncc_id)):
        raise errors.invalid_state(has_rules_msg)
    if model.workspaces_bound_to(ncc_id):
        raise errors.invalid_state(attached_msg)
    if ncc.settle_since is not None and \
            clock.now() - ncc.settle_since < clock.scaled(settings.delays().ncc_delete_settle):
        raise errors.invalid_state(has_rules_msg if ncc.settle_reason == "rules" else attached_msg)
    for r in model.rules_of(ncc_id):
        if r.endpoint_live:
            model.endpoint_deletions.append(EndpointDeletion(r.region, r.endpoint_owner, r.vpc_endpoint_id))
        del model.rules[r.id]
    del model.nccs[ncc_id]
    return {}


def update(ctx: Ctx, account_id: str, ncc_id: str):
    """PATCH exists only for Azure (§2.6); on AWS it is refused after the existence check."""
    lookup(ctx.model, account_id, ncc_id)
    raise errors.invalid_parameter(
        "Updating a network connectivity config is only supported for Azure; name and region of an "
        "AWS network connectivity config are immutable."
    )


def mark_dependency_gone(ncc: Ncc, reason: str) -> None:
    """Start the eventual-consistency window during which DELETE is still refused (§2.5)."""
    ncc.settle_since = clock.now()
    ncc.settle_reason = reason
