"""The AWS emulator as one WSGI app: moto 5.2.5's server dispatcher, in-process and patched.

Per request: pick the account and principal of the caller, take `context.LOCK` (moto is not
thread-safe), run due state transitions (`scheduler.tick`), dispatch to moto, and answer an AWS-shaped
`InternalFailure` instead of an HTML traceback if moto raises.

Accounts, as with moto (local-emulators.md): the `x-moto-account-id` header wins; otherwise an access
key id of exactly 12 digits *is* the account id (the LocalStack convention, so any SDK can act as any
account: `AWS_ACCESS_KEY_ID=565502421330`); otherwise moto maps keys it issued (STS AssumeRole, IAM
CreateAccessKey) to their account, and anything else is account 123456789012. The principal is the
assumed role / IAM user of the key when moto issued it, else the account root.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import context, errors, fixtures, install, scheduler

log = logging.getLogger("plink_stack.aws")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/")
_TWELVE_DIGITS = re.compile(r"^\d{12}$")
DEFAULT_ACCOUNT = fixtures.CUSTOMER_ACCOUNT


def request_scope(environ: dict) -> tuple[str | None, str | None, str | None]:
    """(access key id, region, signing service) from a SigV4 Authorization header."""
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (m.group(1), m.group(2), m.group(3)) if m else (None, None, None)


def caller_of(environ: dict) -> context.Caller:
    """Pick the account (setting the moto header for 12-digit keys) and principal of a request."""
    from moto.iam.models import get_account_id_from, iam_backends

    access_key, _, _ = request_scope(environ)
    account = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if not account and access_key and _TWELVE_DIGITS.match(access_key):
        account = environ["HTTP_X_MOTO_ACCOUNT_ID"] = access_key
    if not account:
        account = get_account_id_from(access_key) if access_key else DEFAULT_ACCOUNT
    per_partition = dict.get(iam_backends, account)
    iam = dict.get(per_partition, "aws") if per_partition is not None else None
    key = iam.access_keys.get(access_key) if iam is not None and access_key else None
    if key is not None and key.role_arn:
        return context.Caller(account, key.role_arn)
    if key is not None and key.user_name:
        return context.Caller(account, f"arn:aws:iam::{account}:user/{key.user_name}")
    return context.Caller.root(account)


_REQUEST_ID_PLACEHOLDER = re.compile(rb"<(requestId|RequestID)>request-id</\1>")


def _real_request_id(body: bytes, headers: list) -> bytes:
    """moto 5.2.5 answers EC2 calls with `<requestId>request-id</requestId>` (errors, DryRunOperation
    included: `<RequestID>request-id</RequestID>`); AWS sends a UUID."""
    if _REQUEST_ID_PLACEHOLDER.search(body) is None:
        return body
    body = _REQUEST_ID_PLACEHOLDER.sub(lambda m: b"<%s>%s</%s>" % (m.group(1), str(uuid.uuid4()).encode(),
                                                                   m.group(1)), body)
    headers[:] = [(k, str(len(body)) if k.lower() == "content-length" else v) for k, v in headers]
    return body


def reset() -> dict:
    """Wipe every moto backend and the pending transitions, then seed the fixtures again."""
    from moto.moto_api._internal.models import moto_api_backend

    with context.LOCK:
        moto_api_backend.reset()
        scheduler.clear()
        return fixtures.seed()


def make_app() -> Callable:
    install()
    reset()
    dispatcher = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api/reset"):
            reset()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok"}']
        who = caller_of(environ)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            answer.update(status=status, headers=headers)
            return lambda data: answer.setdefault("written", []).append(data)

        with context.LOCK, context.acting_as(who):
            try:
                scheduler.tick()
                result = dispatcher(environ, capture)
                try:
                    body = b"".join(answer.get("written", [])) + b"".join(result)
                finally:
                    getattr(result, "close", lambda: None)()
            except Exception as exc:  # an AWS-shaped 500 instead of werkzeug's HTML page
                log.exception("moto failed on %s", environ.get("PATH_INFO"))
                _, _, service = request_scope(environ)
                status, headers, body = errors.render(
                    service or "ec2", "HTTP_X_AMZ_TARGET" in environ, 500,
                    "InternalError" if service == "s3" else "InternalFailure",
                    f"The emulator failed: {type(exc).__name__}: {exc}",
                    head=environ.get("REQUEST_METHOD") == "HEAD")
                start_response(status, headers)
                return [body]
        body = _real_request_id(body, answer["headers"])
        start_response(answer["status"], answer["headers"])
        return [body]

    return app
