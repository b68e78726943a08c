"""WSGI entry point of the Databricks emulator (CONTRACT.md: the launcher calls ``make_app()``,
``reset()`` and ``serve_workspace_hosts()``; ``fixtures()`` feeds ``GET /_plink/fixtures``).

Request flow: ``/_plink/*`` control routes -> otherwise, under the model lock, route by host kind
(account host, or a workspace host / ``X-Databricks-Workspace-Id``), authenticate (auth.py), on workspace
APIs judge the request by the workspace's IP access lists and then its context-based ingress policy
(``_front_door``), call the handler, render JSON. Errors are rendered in the Databricks shape (errors.py); unknown routes give
404 ``ENDPOINT_NOT_FOUND``; OAuth endpoint errors use the RFC 6749 shape.
"""
import json
import logging
import os
import threading

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from .. import clock, settings
from . import (auth, errors, fixtures as fx, hosts, ingress, ip_access_lists, paging, routes, traffic, workspace_files,
               workspaces)
from .context import Ctx
from .model import MODEL
from .ticker import Ticker

log = logging.getLogger("plink_stack.databricks")

TICKER = Ticker(MODEL)
_account_url = None
_url_lock = threading.Lock()


def _json(status: int, body, headers: dict | None = None) -> Response:
    if status == 204 or body is None:
        return Response(status=status if status != 200 else 204, headers=headers)
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def _remember_account_url(url: str) -> None:
    global _account_url
    with _url_lock:
        if _account_url is None:
            _account_url = url


def account_url() -> str:
    if _account_url:
        return _account_url
    port = os.environ.get("PLINK_STACK_DB_PORT")
    return f"http://127.0.0.1:{port}" if port else "http://127.0.0.1"


# --- control routes (/_plink/...) ------------------------------------------------------------------------

def _control(request: Request, base_url: str) -> Response:
    path, method = request.path.rstrip("/"), request.method
    if path == "/_plink/health" and method == "GET":
        return _json(200, {"ok": True})
    if path == "/_plink/fixtures" and method == "GET":
        return _json(200, fixtures(base_url))
    if path == "/_plink/reset" and method == "POST":
        reset()
        return _json(200, {"ok": True})
    if path == "/_plink/config":
        if method == "POST":
            data = request.get_json(silent=True) or {}
            try:
                if "time_scale" in data:
                    clock.set_time_scale(float(data["time_scale"]))
                settings.update(data.get("delays") or {})
            except (ValueError, TypeError) as exc:
                return _json(400, {"error": str(exc)})
        if method in ("GET", "POST"):
            return _json(200, {"time_scale": clock.time_scale(), "delays": settings.delays().__dict__})
    if path == "/_plink/databricks/config":
        if method == "POST":
            data = request.get_json(silent=True) or {}
            try:
                if "page_size" in data:
                    paging.set_default_page_size(data["page_size"])
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
        if method in ("GET", "POST"):
            return _json(200, {"page_size": paging.default_page_size()})
    if path == "/_plink/workspace-files" and method == "GET":
        wid = request.args.get("workspace_id")
        with MODEL.lock:
            if wid is not None and (not wid.isdigit() or int(wid) not in MODEL.workspaces):
                return _json(404, {"error": f"unknown workspace {wid}"})
            return _json(200, workspace_files.snapshot(MODEL, int(wid) if wid else None))
    if path == "/_plink/workspaces" and method == "POST":
        with MODEL.lock:
            try:
                return _json(200, {"workspaces": workspaces.add_extra(MODEL, request.get_json(silent=True))})
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
    if path == "/_plink/traffic" and method == "POST":
        try:
            data = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise errors.bad_request("Request body is not valid JSON.") from None
        with MODEL.lock:
            return _json(200, traffic.simulate(MODEL, data))
    return _json(404, {"error": f"unknown control route {method} {request.path}"})


# --- API dispatch --------------------------------------------------------------------------------------

def _resolve_workspace(request: Request, environ):
    wid = environ.get("plink.workspace_id")
    if wid is None:
        header = request.headers.get("X-Databricks-Workspace-Id")
        if not header:
            return None
        wid = workspaces.parse_workspace_id(header)
    ws = MODEL.workspaces.get(int(wid))
    if ws is None:
        raise errors.not_found(f"Workspace {wid} does not exist.")
    return ws


def _match(url_map, environ):
    try:
        return url_map.bind_to_environ(environ).match()
    except (NotFound, MethodNotAllowed):
        return None


def _handle(request: Request, environ, base_url: str) -> Response:
    ctx = Ctx(request=request, model=MODEL, base_url=base_url)
    with MODEL.lock:
        on_ws_listener = environ.get("plink.workspace_id") is not None
        ws = _resolve_workspace(request, environ)
        matched = _match(routes.WORKSPACE, environ) if ws is not None else None
        if matched is None and not on_ws_listener:
            matched = _match(routes.ACCOUNT, environ)
            ws = None
        if matched is None:
            raise errors.endpoint_not_found(request.method, request.path)
        endpoint, args = matched
        ctx.workspace = ws

        if endpoint == "meta.account":
            return _json(200, auth.account_host_metadata(base_url))
        if endpoint == "meta.workspace":
            return _json(200, auth.workspace_host_metadata(base_url, ws))
        if endpoint == "oidc.account_discovery":
            return _json(200, auth.authorization_server(f"{base_url}/oidc/accounts/{args['account_id']}"))
        if endpoint == "oidc.workspace_discovery":
            return _json(200, auth.authorization_server(f"{base_url}/oidc"))
        if endpoint == "oidc.account_token":
            return _token(request, args["account_id"], "account")
        if endpoint == "oidc.workspace_token":
            return _token(request, ws.account_id, f"workspace:{ws.workspace_id}")

        if endpoint in routes.WORKSPACE_HANDLERS:
            ctx.principal = auth.require_workspace(request, ws)
            _front_door(ws, request)
            result = routes.WORKSPACE_HANDLERS[endpoint](ctx, **args)
        else:
            ctx.principal = auth.require_account(request, args["account_id"])
            result = routes.ACCOUNT_HANDLERS[endpoint](ctx, **args)
    status, body = result if isinstance(result, tuple) else (200, result)
    return _json(status, body)


def _front_door(ws, request: Request) -> None:
    """The workspace's own network controls, for every authenticated workspace-API request (model lock
    held): IP access lists first, then context-based ingress. A block by either is a 403; an IP ACL block
    stops before ingress (so it is not logged in ``inbound_network``)."""
    ip_access_lists.enforce(MODEL, ws, request)
    ingress.enforce(MODEL, ws, request)


def _token(request: Request, account_id: str, audience: str) -> Response:
    try:
        body = auth.issue_token(request, account_id, audience)
    except errors.OAuthError as e:
        return Response(e.body(), status=e.status, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})
    return _json(200, body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _app(environ, start_response):
    request = Request(environ)
    base_url = request.host_url.rstrip("/")
    request_id = errors.new_request_id()
    try:
        if request.path.startswith("/_plink/"):
            response = _control(request, base_url)
        else:
            if environ.get("plink.workspace_id") is None:
                _remember_account_url(base_url)
            TICKER.catch_up()
            response = _handle(request, environ, base_url)
    except errors.ApiError as e:
        response = _json(e.status, e.body(request_id), headers=e.headers)
    except Exception:  # pragma: no cover - a bug; still answer in the Databricks shape
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = errors.ApiError(500, "INTERNAL_ERROR", "Internal error in the Databricks emulator.")
        response = _json(500, err.body(request_id))
    response.headers["x-request-id"] = request_id
    return response(environ, start_response)


# --- public API for the launcher ---------------------------------------------------------------------------

def make_app():
    """The account-host WSGI app; starts the background state-machine ticker (idempotent)."""
    TICKER.start()
    return _app


def reset() -> None:
    """Wipe all Databricks state and re-seed the fixtures (tokens stay valid, see auth.py)."""
    MODEL.reset()
    paging.reset_default_page_size()


def serve_workspace_hosts(wrap=None, host: str = "127.0.0.1", base_port: int | None = None) -> dict[int, str]:
    """Start one listener per seeded workspace (see hosts.py); ``wrap`` (e.g. the launcher's fault
    middleware) is applied to each. Returns ``{workspace_id: url}``; idempotent."""
    TICKER.start()
    return hosts.serve(_app, wrap=wrap, host=host, base_port=base_port)


def stop() -> None:
    """Stop workspace listeners and the ticker (tests)."""
    hosts.stop()
    TICKER.stop()


def fixtures(base_url: str | None = None) -> dict:
    """Payload of ``GET /_plink/fixtures``: account, service principal, workspaces and their hosts.
    A workspace without its own listener is reached through the account host plus the
    ``X-Databricks-Workspace-Id`` header (``host`` then equals the account host)."""
    acc = base_url or account_url()
    ws_urls = hosts.urls()
    return {
        "account_id": fx.ACCOUNT_ID,
        "client_id": fx.CLIENT_ID,
        "client_secret": fx.CLIENT_SECRET,
        "host": acc,
        "workspaces": [
            {
                "workspace_id": w["workspace_id"],
                "workspace_name": w["workspace_name"],
                "aws_region": w["aws_region"],
                "host": ws_urls.get(w["workspace_id"], acc),
                "warehouse_id": fx.WAREHOUSES[w["workspace_id"]]["id"],
            }
            for w in fx.WORKSPACES
        ],
    }
