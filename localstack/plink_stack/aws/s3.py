"""S3 on the AWS port: moto 5.2.5's own S3 backend, reached path-style, plus what the stack adds.

moto's server dispatcher already sends SigV4 requests signed for service `s3` to its S3 backend, and
with a path-style URL (`http://127.0.0.1:<port>/<bucket>?policy`, what aws-sdk-rust sends with
`force_path_style(true)` and boto3 with `Config(s3={"addressing_style": "path"})`) the bucket is the
first path segment, whatever the Host. Accounts work as for EC2 (`app.caller_of` sets
`x-moto-account-id`); bucket names are one global namespace across accounts, as on AWS.

This module adds:

* `action_of(method, path, query, headers)`: the S3 operation name of a path-style REST request
  (`PutBucketPolicy`, `GetBucketLocation`, `ListBuckets`, `GetObject` ...) for the call log and the
  fault plan's `match.action` (REST APIs carry no `Action` parameter); `is_mutating(action)`;
  `iam_action(operation)` and `resource_arn(path)`: the IAM action and resource that authorize it
  (for denied actions, `permissions.py`); `string_like`: IAM's `*`/`?` wildcard match.
* `source_vpce_allowed(policy, vpce_id)`: whether a bucket policy has an `Allow` statement whose
  `Condition` ties `aws:SourceVpce` to that endpoint (used by `bridge.s3_buckets_allow`).
* PutBucketPolicy as S3 answers it: 204 No Content (moto: 200 with the body `True`), after S3's
  basic checks of the document (moto stores anything), 400 `MalformedPolicy` with S3's messages:
  not a JSON object ("Policies must be valid JSON and the first byte must be '{'"), no statements,
  an `Effect` other than Allow/Deny, a missing `Principal`/`Action`/`Resource`, an action outside
  `s3:` ("Policy has invalid action"), a resource outside the bucket ("Policy has invalid resource").
* GetBucketVersioning answered with S3's `VersioningConfiguration` root element (moto's
  `GetBucketVersioningResponse` root fails aws-sdk-rust's parser).
* a patch of moto's data-path policy check (`FakeBucket.get_permission`, applied to object
  GET/PUT/DELETE): moto ignores `Condition`s, so a conditional `Deny` such as the usual
  "DenyInsecureTransport" (`aws:SecureTransport = false`) denies every object request. Statements with
  a `Condition` are skipped instead: the stack has no request context to evaluate them with (and its
  plain-HTTP port stands for AWS's HTTPS endpoint).
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import parse_qs

# bucket sub-resource (query key) -> operation name suffix; the verb gives the prefix
_BUCKET_SUBRESOURCES = {
    "policy": "BucketPolicy",
    "policyStatus": "BucketPolicyStatus",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "acl": "BucketAcl",
    "cors": "BucketCors",
    "lifecycle": "BucketLifecycleConfiguration",
    "encryption": "BucketEncryption",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls",
    "notification": "BucketNotificationConfiguration",
    "website": "BucketWebsite",
    "logging": "BucketLogging",
    "replication": "BucketReplication",
    "requestPayment": "BucketRequestPayment",
    "accelerate": "BucketAccelerateConfiguration",
    "object-lock": "ObjectLockConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "analytics": "BucketAnalyticsConfiguration",
}
_SPECIAL = {  # (method, sub-resource) -> operation, where verb + suffix is not the name
    ("GET", "location"): "GetBucketLocation",
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "uploads"): "ListMultipartUploads",
    ("POST", "delete"): "DeleteObjects",
    ("DELETE", "lifecycle"): "DeleteBucketLifecycle",
}
_OBJECT_SUBRESOURCES = {"tagging": "ObjectTagging", "acl": "ObjectAcl", "retention": "ObjectRetention",
                        "legal-hold": "ObjectLegalHold"}
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
# Writes that do not start with Put/Delete/Create
_OTHER_WRITES = {"CopyObject", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
                 "AbortMultipartUpload", "RestoreObject"}


def action_of(method: str, path: str, query: str, headers: Mapping[str, str] | None = None) -> str:
    """S3 operation name of a path-style request (`/`, `/<bucket>`, `/<bucket>/<key>`)."""
    method = method.upper()
    keys = set(parse_qs(query, keep_blank_values=True))
    headers = headers or {}
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method.title()}Service"
    if not key:
        for sub in keys:
            if (method, sub) in _SPECIAL:
                return _SPECIAL[(method, sub)]
        for sub in keys:
            if sub in _BUCKET_SUBRESOURCES and method in _VERBS:
                return _VERBS[method] + _BUCKET_SUBRESOURCES[sub]
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket",
                "GET": "ListObjectsV2" if "list-type" in keys else "ListObjects",
                "POST": "PostObject"}.get(method, f"{method.title()}Bucket")
    copy = any(h.lower() == "x-amz-copy-source" for h in headers)
    if "uploads" in keys and method == "POST":
        return "CreateMultipartUpload"
    if "uploadId" in keys:
        return {"PUT": "UploadPartCopy" if copy else "UploadPart", "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(method, "UploadPart")
    if method == "POST" and "restore" in keys:
        return "RestoreObject"
    if method == "POST" and "select" in keys:
        return "SelectObjectContent"
    if method == "GET" and "attributes" in keys:
        return "GetObjectAttributes"
    for sub in keys:
        if sub in _OBJECT_SUBRESOURCES and method in _VERBS:
            return _VERBS[method] + _OBJECT_SUBRESOURCES[sub]
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, f"{method.title()}Object")


def is_mutating(action: str) -> bool:
    return action.startswith(("Put", "Delete", "Create")) or action in _OTHER_WRITES


# S3 operation -> the IAM action that authorizes it, where the two names differ (S3 User Guide,
# "Required permissions for Amazon S3 API operations"); every other operation is its own action.
_IAM_ACTIONS = {
    "ListBuckets": "ListAllMyBuckets",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "PostObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "DeleteBucketTagging": "PutBucketTagging",
}


def iam_action(operation: str) -> str:
    """The IAM action (without `s3:`) a policy must allow for this S3 operation."""
    return _IAM_ACTIONS.get(operation, operation)


def resource_arn(path: str) -> str:
    """The S3 ARN a path-style request acts on: `arn:aws:s3:::bucket[/key]`, `*` for ListBuckets."""
    name = path.lstrip("/")
    return f"arn:aws:s3:::{name}" if name else "*"


# --- bucket policies ------------------------------------------------------------------------------

_VPCE_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike")


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def string_like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` and `?` are wildcards, everything else literal, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _ties_source_vpce(condition: Any, vpce_id: str) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, entries in condition.items():
        op = str(operator).lower()
        if op.startswith("foranyvalue:"):
            op = op[len("foranyvalue:"):]
        if op.endswith("ifexists"):
            op = op[: -len("ifexists")]
        if op not in _VPCE_OPERATORS or not isinstance(entries, dict):
            continue
        for key, values in entries.items():
            if str(key).lower() != "aws:sourcevpce":
                continue
            for v in _as_list(values):
                if not isinstance(v, str):
                    continue
                if op == "stringequals" and v == vpce_id:
                    return True
                if op == "stringequalsignorecase" and v.lower() == vpce_id.lower():
                    return True
                if op == "stringlike" and string_like(v, vpce_id):
                    return True
    return False


def statements(policy: str | bytes | None) -> list[dict]:
    """The statements of a policy document ([] if none or unparsable)."""
    if not policy:
        return []
    try:
        doc = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(doc, dict):
        return []
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, dict)]


def source_vpce_allowed(policy: str | bytes | None, vpce_id: str) -> bool:
    """True if an `Allow` statement's `Condition` ties `aws:SourceVpce` to `vpce_id`
    (`StringEquals` / `StringEqualsIgnoreCase` / `StringLike`, optionally `ForAnyValue:`-prefixed or
    `...IfExists`;
    a string or a list containing it; condition keys case-insensitive). Principal, Action and
    Resource are not evaluated (which of them Databricks checks is not known)."""
    return any(str(s.get("Effect", "")).lower() == "allow" and _ties_source_vpce(s.get("Condition"), vpce_id)
               for s in statements(policy))


def _in_bucket(resource: str, bucket: str) -> bool:
    """A bucket policy's resource must name the bucket or objects in it (wildcards allowed)."""
    m = re.fullmatch(r"arn:aws[a-z-]*:s3:::(.+)", resource)
    if m is None:
        return False
    name = m.group(1)
    return string_like(name, bucket) or string_like(name, f"{bucket}/x") or name.startswith(f"{bucket}/")


def policy_problem(policy: bytes | str, bucket: str) -> str | None:
    """S3's MalformedPolicy message for a bucket policy document, None if it passes the checks."""
    try:
        text = policy.decode() if isinstance(policy, bytes) else policy
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        return "Policies must be valid JSON and the first byte must be '{'"
    found = doc.get("Statement")
    if not found or not all(isinstance(x, dict) for x in _as_list(found)):
        return "Missing required field Statement"
    for statement in _as_list(found):
        if statement.get("Effect") not in ("Allow", "Deny"):
            return f"Invalid effect: {statement.get('Effect')}"
        for required in ("Principal", "Action", "Resource"):
            if required not in statement and f"Not{required}" not in statement:
                return f"Missing required field {required}"
        actions = _as_list(statement.get("Action", statement.get("NotAction")))
        if not actions or not all(isinstance(a, str) and (a == "*" or a.lower().startswith("s3:")) for a in actions):
            return "Policy has invalid action"
        resources = _as_list(statement.get("Resource", statement.get("NotResource")))
        if not resources or not all(isinstance(r, str) and _in_bucket(r, bucket) for r in resources):
            return "Policy has invalid resource"
    return None


# --- moto patch -----------------------------------------------------------------------------------

def install() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    class MalformedPolicy(S3ClientError):
        code = "MalformedPolicy"

        def __init__(self, message: str):
            super().__init__("MalformedPolicy", message)

    put_bucket = S3Response._bucket_response_put

    def _bucket_response_put(self: Any, request: Any, bucket_name: str, querystring: dict) -> Any:
        if "policy" not in querystring:
            return put_bucket(self, request, bucket_name, querystring)
        self.backend.get_bucket(bucket_name)  # NoSuchBucket before MalformedPolicy
        problem = policy_problem(self.body or b"", bucket_name)
        if problem:
            raise MalformedPolicy(problem)
        result = put_bucket(self, request, bucket_name, querystring)
        if isinstance(result, tuple) and result and result[0] >= 300:
            return result
        return 204, {}, ""

    S3Response._bucket_response_put = _bucket_response_put

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        try:
            doc = json.loads(self.policy.decode())
        except ValueError:
            return PermissionResult.NEUTRAL
        unconditional = [s for s in _as_list(doc.get("Statement"))
                         if isinstance(s, dict) and not s.get("Condition")]
        if not unconditional:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**doc, "Statement": unconditional})).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission

    def get_bucket_versioning(self: Any) -> Any:
        # S3's answer is a `VersioningConfiguration` element (with a `Status` once versioning was
        # ever set); moto names the root `GetBucketVersioningResponse`, which the AWS SDKs that
        # check the root (aws-sdk-rust) refuse.
        status = self.backend.get_bucket_versioning(self.bucket_name)
        inner = f"<Status>{status}</Status>" if status else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}'
                "</VersioningConfiguration>")
        return 200, {"Content-Type": "application/xml"}, body

    S3Response.get_bucket_versioning = get_bucket_versioning

