"""AWS error bodies in the wire format of each protocol, for answers moto does not produce itself
(injected faults, internal failures), so botocore and aws-sdk-rust classify them like real ones.

- EC2 (ec2 query protocol): `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>`
- awsQuery services (elasticloadbalancing, sts, rds, ...): `<ErrorResponse><Error><Type/><Code/><Message/>`
- JSON services (X-Amz-Target): `{"__type": code, "message": ...}`
- S3 (REST-XML): `<Error><Code/><Message/><RequestId/><HostId/></Error>` with `x-amz-request-id` and
  `x-amz-id-2` headers; no body for HEAD requests (`head=True`), as S3 answers them
"""
from __future__ import annotations

import base64
import json
import os
import uuid
from xml.sax.saxutils import escape

NAMESPACES = {
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
}


def render(service: str, json_protocol: bool, status: int, code: str, message: str,
           extra_headers: list[tuple[str, str]] | None = None,
           head: bool = False) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error answer."""
    if service == "s3":
        return _render_s3(status, code, message, extra_headers, head)
    request_id = str(uuid.uuid4())
    if json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/x-amz-json-1.1"
    elif service == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
        ctype = "text/xml;charset=UTF-8"
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        xmlns = NAMESPACES.get(service, f"https://{service}.amazonaws.com/doc/")
        body = (f"<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type>"
                f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        ctype = "text/xml"
    headers = [("Content-Type", ctype), ("Content-Length", str(len(body))),
               ("x-amzn-RequestId", request_id)] + list(extra_headers or [])
    return f"{status} {_reason(status)}", headers, body


def _render_s3(status: int, code: str, message: str, extra_headers: list[tuple[str, str]] | None,
               head: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = os.urandom(8).hex().upper()
    host_id = base64.b64encode(os.urandom(48)).decode()
    body = b"" if head else (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>").encode()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
               ("x-amz-request-id", request_id), ("x-amz-id-2", host_id)] + list(extra_headers or [])
    return f"{status} {_reason(status)}", headers, body


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
