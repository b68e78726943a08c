"""AWS error bodies in the wire format of each protocol, for answers moto does not produce itself
(injected faults, internal failures), so botocore and aws-sdk-rust classify them like real ones.

- EC2 (ec2 query protocol): `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>`
- awsQuery services (elasticloadbalancing, sts, ...): `<ErrorResponse><Error><Type/><Code/><Message/>`
- JSON services (X-Amz-Target): `{"__type": code, "message": ...}`
"""
from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

NAMESPACES = {
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}


def render(service: str, json_protocol: bool, status: int, code: str, message: str,
           extra_headers: list[tuple[str, str]] | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error answer."""
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


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
