"""Actions denied to the caller (control route `/_plink/deny`), answered as AWS answers a request
that IAM does not allow.

moto evaluates no IAM policy (every key may do anything in its account), so a test cannot make plink
meet a missing permission, nor check that a preflight of `DryRun` calls finds one. A test names the
denied actions the way an IAM policy does, `<service prefix>:<Action>` with IAM's `*`/`?`
wildcards, case-insensitive ("The prefix and the action name are case insensitive", IAM User Guide,
"IAM JSON policy elements: Action"), optionally only for some principals; every request that needs a
denied action gets, instead of moto's answer:

| service (IAM prefix) | answer |
|---|---|
| EC2 (`ec2`) | 403 `UnauthorizedOperation` "You are not authorized to perform this operation. User: <arn> is not authorized to perform: ec2:<Action> because no identity-based policy allows the ec2:<Action> action. Encoded authorization failure message: <opaque>" -- also for `DryRun=true`, which is how a preflight detects the denial (EC2 API reference, `DryRun`: "If you have the required permissions, the error response is DryRunOperation. Otherwise, it is UnauthorizedOperation.") |
| ELBv2 (`elasticloadbalancing`), STS (`sts`), RDS (`rds`) | 403 `AccessDenied` "User: <arn> is not authorized to perform: <prefix>:<Action> because no identity-based policy allows the <prefix>:<Action> action", Query XML error shape |
| S3 (`s3`) | 403 `AccessDenied` "User: <arn> is not authorized to perform: s3:<Action> on resource: \"arn:aws:s3:::<bucket>[/<key>]\" because no identity-based policy allows the s3:<Action> action", S3's XML shape (no body for HEAD) |

`<arn>` is the caller as AWS names it there (`arn:aws:iam::ACCT:root`, an IAM user ARN, or an
assumed role's session `arn:aws:sts::ACCT:assumed-role/<role>/<session>`). AWS usually names the
resource too (`on resource: arn:aws:...`); here only S3 does, where the path gives it.

S3 operations are matched by the IAM action that authorizes them (`s3.iam_action`: HeadBucket and
ListObjectsV2 need `s3:ListBucket`, HeadObject `s3:GetObject`, ...). A create that tags what it
creates also needs the tagging action, as on AWS: `ec2:CreateTags` for an EC2 request with
`TagSpecifications` (EC2 User Guide, "Grant permission to tag Amazon EC2 resources during
creation") and `elasticloadbalancing:AddTags` for an ELBv2 create with `Tags` (ELB User Guide, "ELB
API permissions to tag resources during creation": "If tags are specified in the resource-creating
action, additional authorization is required on the elasticloadbalancing:AddTags action").
`sts:GetCallerIdentity` cannot be denied ("No permissions are required to perform this operation",
STS API reference): naming it is refused, and a wildcard never matches it.

The denial is decided in front of moto (`faults.Emulator`), so a denied request changes nothing; the
call log keeps it with its status, `mutating: false` and `fault: "deny"`.
"""
from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any

from . import context, errors, principals
from . import s3 as aws_s3
from .app import caller_of, request_scope

# call-log service -> IAM service prefix
IAM_PREFIXES = {"ec2": "ec2", "elbv2": "elasticloadbalancing", "sts": "sts", "rds": "rds", "s3": "s3"}
NEVER_DENIED = ("sts:getcalleridentity",)
_ACTION = re.compile(r"^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)$")


class Denials:
    """The denied actions of the AWS emulator: set, read and cleared by `/_plink/deny`, emptied by
    `/_plink/reset`."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.principals: list[str] = ["*"]
        self._lock = threading.Lock()

    def set(self, spec: Any) -> dict:
        """Replace the denials with `{"actions": [...], "principals": [...]}` (principals default
        `["*"]`: every caller); raises ValueError (answered 400) on a malformed body."""
        if not isinstance(spec, dict) or set(spec) - {"actions", "principals"}:
            raise ValueError('a denial is an object {"actions": ["ec2:CreateVpcEndpoint", ...], '
                             '"principals": ["*" | "arn:aws:iam::ACCT:root" | role or user ARN, ...]}')
        actions = _strings(spec.get("actions", []), "actions")
        for action in actions:
            m = _ACTION.match(action)
            if m is None or m.group(1).lower() not in IAM_PREFIXES.values():
                raise ValueError(f"{action!r}: an action is '<prefix>:<Action>' (IAM wildcards * and ? "
                                 f"allowed) with a prefix of {sorted(set(IAM_PREFIXES.values()))}")
            if action.lower() in NEVER_DENIED:
                raise ValueError(f"{action}: AWS requires no permission for it, so it cannot be denied "
                                 "(STS API reference, GetCallerIdentity)")
        allowed = _strings(spec.get("principals", ["*"]), "principals")
        for principal in allowed:
            if principal != "*" and not principals.is_principal_arn(principal):
                raise ValueError(f"{principal!r}: a principal is '*' or an IAM ARN "
                                 "(arn:aws:iam::ACCT:root, ...:role/NAME, ...:user/NAME)")
        with self._lock:
            self.actions, self.principals = actions, allowed or ["*"]
        return self.to_dict()

    def clear(self) -> None:
        with self._lock:
            self.actions, self.principals = [], ["*"]

    def to_dict(self) -> dict:
        with self._lock:
            return {"actions": list(self.actions), "principals": list(self.principals)}

    def refusal(self, environ: dict, info: Any) -> tuple[str, list, bytes] | None:
        """The AWS answer to a request that needs a denied action (`info`: `faults.RequestInfo`),
        None when it may go on."""
        with self._lock:
            actions, allowed = list(self.actions), list(self.principals)
        if not actions:
            return None
        denied = next((a for a in required_actions(info) if _matches(actions, a)), None)
        if denied is None:
            return None
        with context.LOCK:
            who = caller_of(environ)
            if not any(principals.principal_allows(p, who) for p in allowed):
                return None
            arn = identity_arn(environ, who)
        return _answer(info, arn, denied)


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return list(value)


def _matches(patterns: list[str], action: str) -> bool:
    if action.lower() in NEVER_DENIED:
        return False
    return any(aws_s3.string_like(p.lower(), action.lower()) for p in patterns)


def required_actions(info: Any) -> list[str]:
    """The IAM actions a request needs: its own, plus the tagging action of a create that tags."""
    prefix = IAM_PREFIXES.get(info.service)
    if prefix is None or not info.action:
        return []
    own = aws_s3.iam_action(info.action) if info.service == "s3" else info.action
    needed = [f"{prefix}:{own}"]
    if info.service == "ec2" and any(k.startswith("TagSpecification.") for k in info.params):
        needed.append("ec2:CreateTags")
    if info.service == "elbv2" and info.action.startswith("Create") \
            and any(k.startswith("Tags.member.") for k in info.params):
        needed.append("elasticloadbalancing:AddTags")
    return needed


def identity_arn(environ: dict, who: context.Caller) -> str:
    """The caller's ARN in AWS's denial messages (an assumed role as its STS session ARN)."""
    if ":role/" not in who.principal:
        return who.principal
    from moto.sts.models import sts_backends

    access_key, _, _ = request_scope(environ)
    per_partition = dict.get(sts_backends, who.account)
    sts = dict.get(per_partition, "aws") if per_partition is not None else None
    session = sts.get_assumed_role_from_access_key(access_key) if sts is not None and access_key else None
    return session.arn if session is not None else who.principal


def _answer(info: Any, arn: str, action: str) -> tuple[str, list, bytes]:
    reason = f"because no identity-based policy allows the {action} action"
    if info.service == "ec2":
        code = "UnauthorizedOperation"
        message = (f"You are not authorized to perform this operation. User: {arn} is not authorized "
                   f"to perform: {action} {reason}. Encoded authorization failure message: "
                   f"{_encoded(arn, action)}")
    elif info.service == "s3":
        code = "AccessDenied"
        message = (f"User: {arn} is not authorized to perform: {action} on resource: "
                   f"\"{aws_s3.resource_arn(info.path)}\" {reason}")
    else:
        code = "AccessDenied"
        message = f"User: {arn} is not authorized to perform: {action} {reason}"
    return errors.render(info.signing_service or "ec2", info.json_protocol, 403, code, message,
                         head=info.method == "HEAD")


def _encoded(arn: str, action: str) -> str:
    """Stands for EC2's encoded authorization failure message (opaque to clients; on AWS only STS
    DecodeAuthorizationMessage reads it): the decoded document's main fields, base64url."""
    doc = {"allowed": False, "explicitDeny": False, "matchedStatements": {"items": []},
           "context": {"principal": {"arn": arn}, "action": action}}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")
