"""NCC private endpoint rules, AWS flavour (databricks-api.md §3, limits §8.1).

Routes (account host):
``/api/2.0/accounts/{account_id}/network-connectivity-configs/{ncc_id}/private-endpoint-rules[/{rule_id}]``
POST create, GET list (paged; ``page_size`` honoured), GET one, PATCH update (``update_mask``), DELETE.

Validation on create (§3.3, §10.4):
* ``endpoint_service`` is required (choice; plink always sends it, §3.3) and must be either a customer
  VPC endpoint service name ``com.amazonaws.vpce.<region>.vpce-svc-...`` or the first-party S3
  service ``com.amazonaws.<ncc region>.s3``;
* exactly one of ``domain_names`` (customer services only; 1-10 FQDNs, a leading ``*.`` wildcard
  allowed) and ``resource_names`` (S3 only; bucket names);
* ``enabled`` on create is silently ignored (§3.3, DBSOL);
* at most 30 rules per region per account, counting deactivated rules until they are purged
  (choice, §3.7 "may still count") -> 400 ``QUOTA_EXCEEDED``.

The create response is ``connection_state=CREATING`` without ``vpc_endpoint_id``; everything after
that is done by ``ticker.py`` against the AWS emulator (real cross-account handshake).

Update (§3.6): ``update_mask`` is required (400 "Update mask must be specified"); field-mask
semantics (a masked field missing from the body is set to its zero value); lists are replaced whole;
customer rules accept only ``domain_names``, S3 rules ``resource_names`` and ``enabled``, and
``enabled`` only once ``ESTABLISHED`` (400 ``INVALID_STATE`` "Field enabled can only be updated when
connection_state is ESTABLISHED" before; no field of the request is applied then). A
``resource_names`` update keeps the connection state (emulator's choice, unconfirmed): an ESTABLISHED
rule stays ESTABLISHED; for a PENDING rule the ticker judges the new list's bucket policies, and the
``rule_establish`` timer starts again.

Delete (§3.7): the rule is deactivated (``deactivated=true``, ``deactivated_at``) and returned; it is
still listed until purged after the scaled ``rule_purge`` delay. Its Databricks-side VPC endpoint is
deleted through the bridge right away unless the connection is ``ESTABLISHED``; an established
endpoint stays connected until the purge (DOC-api: "deactivated and will be deleted after one day";
§3.7 practical consequence), so the customer's endpoint service keeps an ``available`` connection
until then unless the customer rejects it.
"""
import ipaddress
import re

from .. import clock
from . import errors, paging
from .context import Ctx, get_str, get_str_list, parse_update_mask
from .model import EndpointDeletion, Rule, new_id, now_ms

CUSTOMER_SERVICE_RE = re.compile(r"^com\.amazonaws\.vpce\.([a-z0-9-]+)\.vpce-svc-[0-9a-z]+$")
S3_SERVICE_RE = re.compile(r"^com\.amazonaws\.([a-z0-9-]+)\.s3$")
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
FQDN_RE = re.compile(rf"^(\*\.)?(?:{_LABEL}\.)+{_LABEL}\.?$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_DOMAIN_NAMES = 10
MAX_RULES_PER_REGION = 30

STATES = ("CREATING", "CREATE_FAILED", "PENDING", "ESTABLISHED", "REJECTED", "DISCONNECTED", "EXPIRED")


def render(r: Rule) -> dict:
    out = {
        "rule_id": r.id,
        "network_connectivity_config_id": r.ncc_id,
        "account_id": r.account_id,
        "endpoint_service": r.endpoint_service,
        "connection_state": r.connection_state,
        "creation_time": r.creation_time,
        "updated_time": r.updated_time,
        "deactivated": r.deactivated,
    }
    if r.domain_names:
        out["domain_names"] = list(r.domain_names)
    if r.resource_names:
        out["resource_names"] = list(r.resource_names)
    if r.first_party_s3:
        out["enabled"] = r.enabled
    if r.vpc_endpoint_id:
        out["vpc_endpoint_id"] = r.vpc_endpoint_id
    if r.error_message:
        out["error_message"] = r.error_message
    if r.deactivated_at is not None:
        out["deactivated_at"] = r.deactivated_at
    return out


def _ncc(ctx: Ctx, account_id: str, ncc_id: str):
    from . import nccs  # nccs imports rules for rendering

    return nccs.lookup(ctx.model, account_id, ncc_id)


def lookup(ctx: Ctx, account_id: str, ncc_id: str, rule_id: str) -> Rule:
    _ncc(ctx, account_id, ncc_id)
    r = ctx.model.rules.get(rule_id)
    if r is None or r.ncc_id != ncc_id:
        raise errors.not_found(f"Private endpoint rule {rule_id} does not exist in network connectivity "
                               f"config {ncc_id}.")
    return r


# --- validation -------------------------------------------------------------------------------------

def _validate_domain_names(names: list) -> list:
    if not names:
        raise errors.invalid_parameter("domain_names must contain at least one domain name.")
    if len(names) > MAX_DOMAIN_NAMES:
        raise errors.invalid_parameter(
            f"A private endpoint rule supports at most {MAX_DOMAIN_NAMES} domain names, got {len(names)}.")
    seen = set()
    for n in names:
        if len(n) > 253 or not FQDN_RE.match(n):
            raise errors.invalid_parameter(f"Invalid domain name '{n}': must be a fully qualified domain name.")
        key = n.lower().rstrip(".")
        if key in seen:
            raise errors.invalid_parameter(f"Duplicate domain name '{n}'.")
        seen.add(key)
    return list(names)


def _validate_resource_names(names: list) -> list:
    if not names:
        raise errors.invalid_parameter("resource_names must contain at least one S3 bucket name.")
    for n in names:
        if not is_bucket_name(n):
            raise errors.invalid_parameter(f"Invalid S3 bucket name '{n}'.")
    if len(set(names)) != len(names):
        raise errors.invalid_parameter("Duplicate S3 bucket names in resource_names.")
    return list(names)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def is_bucket_name(name: str) -> bool:
    """An S3 bucket name (general purpose bucket naming rules; shared with verify.py)."""
    return bool(BUCKET_RE.match(name)) and ".." not in name and not is_ip(name)


def _check_service(service: str | None, region: str) -> bool:
    """Validate ``endpoint_service``; returns True for the first-party S3 service."""
    if not service:
        raise errors.invalid_parameter("Field 'endpoint_service' is required for AWS private endpoint rules.")
    m = S3_SERVICE_RE.match(service)
    if m:
        if m.group(1) != region:
            raise errors.invalid_parameter(
                f"S3 endpoint service {service} must be in the network connectivity config region {region}.")
        return True
    if CUSTOMER_SERVICE_RE.match(service):
        return False
    raise errors.invalid_parameter(
        f"Invalid endpoint_service '{service}': expected a VPC endpoint service name "
        f"(com.amazonaws.vpce.<region>.vpce-svc-...) or com.amazonaws.{region}.s3.")


# --- handlers ----------------------------------------------------------------------------------------

def create(ctx: Ctx, account_id: str, ncc_id: str):
    ncc = _ncc(ctx, account_id, ncc_id)
    body = ctx.body("private_endpoint_rule")
    for azure_field in ("resource_id", "group_id"):
        if body.get(azure_field):
            raise errors.invalid_parameter(f"Field '{azure_field}' is not supported for AWS private endpoint rules.")
    service = get_str(body, "endpoint_service")
    domain_names = get_str_list(body, "domain_names")
    resource_names = get_str_list(body, "resource_names")
    is_s3 = _check_service(service, ncc.region)
    if domain_names and resource_names:
        raise errors.invalid_parameter("Only one of domain_names and resource_names can be specified.")
    if is_s3:
        if domain_names:
            raise errors.invalid_parameter("domain_names is not supported for S3 private endpoint rules; "
                                           "use resource_names.")
        resource_names = _validate_resource_names(resource_names or [])
    else:
        if resource_names:
            raise errors.invalid_parameter("resource_names is only supported for S3 private endpoint rules; "
                                           "use domain_names.")
        domain_names = _validate_domain_names(domain_names or [])
    in_region = [r for r in ctx.model.rules.values()
                 if r.account_id == account_id and r.region == ncc.region]
    if len(in_region) >= MAX_RULES_PER_REGION:
        raise errors.quota_exceeded(
            f"Cannot create private endpoint rule: the account already has {len(in_region)} private "
            f"endpoints in region {ncc.region} (limit {MAX_RULES_PER_REGION} per region, deactivated "
            "rules count until they are purged).")
    ts = now_ms()
    rule = Rule(id=new_id(), ncc_id=ncc_id, account_id=account_id, region=ncc.region,
                endpoint_service=service, domain_names=domain_names if not is_s3 else None,
                resource_names=resource_names if is_s3 else None, creation_time=ts, updated_time=ts,
                seq=ctx.model.next_seq(), state_since=clock.now())
    ctx.model.rules[rule.id] = rule
    return render(rule)


def get(ctx: Ctx, account_id: str, ncc_id: str, rule_id: str):
    return render(lookup(ctx, account_id, ncc_id, rule_id))


def list_(ctx: Ctx, account_id: str, ncc_id: str):
    _ncc(ctx, account_id, ncc_id)
    return paging.page(f"rules/{ncc_id}", ctx.model.rules_of(ncc_id), render,
                       ctx.args.get("page_token"), paging.parse_page_size(ctx.args.get("page_size")))


def update(ctx: Ctx, account_id: str, ncc_id: str, rule_id: str):
    mask = parse_update_mask(ctx.args.get("update_mask"))
    if not mask:
        raise errors.invalid_parameter("Update mask must be specified")
    r = lookup(ctx, account_id, ncc_id, rule_id)
    body = ctx.body("private_endpoint_rule")
    allowed = ("resource_names", "enabled") if r.first_party_s3 else ("domain_names",)
    unsupported = [f for f in mask if f not in allowed]
    if unsupported:
        raise errors.invalid_parameter(
            f"Updating fields {', '.join(unsupported)} for AWS private endpoint rule {rule_id} is not "
            "supported. No updates were attempted.")
    if r.deactivated:
        raise errors.invalid_state(f"Private endpoint rule {rule_id} is deactivated and cannot be updated.")
    changes = {}
    if "domain_names" in mask:
        changes["domain_names"] = _validate_domain_names(get_str_list(body, "domain_names") or [])
    if "resource_names" in mask:
        changes["resource_names"] = _validate_resource_names(get_str_list(body, "resource_names") or [])
    if "enabled" in mask:
        enabled = body.get("enabled", False)  # omitted == false under field-mask semantics
        if not isinstance(enabled, bool):
            raise errors.invalid_parameter("Field 'enabled' must be a boolean.")
        if r.connection_state != "ESTABLISHED":
            raise errors.invalid_state("Field enabled can only be updated when connection_state is ESTABLISHED")
        changes["enabled"] = enabled
    if "resource_names" in changes and changes["resource_names"] != r.resource_names:
        r.available_since = None  # a PENDING S3 rule must see the new buckets allow it for rule_establish
    for k, v in changes.items():
        setattr(r, k, v)
    r.updated_time = now_ms()
    return render(r)


def delete(ctx: Ctx, account_id: str, ncc_id: str, rule_id: str):
    from . import nccs

    r = lookup(ctx, account_id, ncc_id, rule_id)
    if not r.deactivated:
        ts = now_ms()
        r.deactivated = True
        r.deactivated_at = ts
        r.updated_time = ts
        nccs.mark_dependency_gone(ctx.model.nccs[ncc_id], "rules")
        if r.endpoint_live and r.connection_state != "ESTABLISHED":
            ctx.model.endpoint_deletions.append(EndpointDeletion(r.region, r.endpoint_owner, r.vpc_endpoint_id))
            r.endpoint_live = False
    return render(r)
