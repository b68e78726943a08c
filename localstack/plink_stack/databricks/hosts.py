"""Workspace hosts: one extra HTTP listener per seeded workspace on 127.0.0.1.

The official SDK decides what a host is from its URL and ``/.well-known/databricks-config``; a
``WorkspaceClient`` needs its own base URL whose metadata names the workspace, and ``*.localhost``
names do not resolve everywhere. So each workspace gets a port of its own (``serve_workspace_hosts``,
called by the launcher); every listener serves the same WSGI app with the workspace id put in
``environ["plink.workspace_id"]``. Ports: ``base_port + i`` if ``base_port`` (or env
``PLINK_STACK_DB_WS_BASE_PORT``) is given, else ephemeral ports; ``GET /_plink/fixtures`` lists the
URLs either way.

Fallback without listeners ("unified host" style): the account port also serves the workspace APIs
when the request carries ``X-Databricks-Workspace-Id`` (the SDKs send it when ``workspace_id`` is
configured), authenticated with an account token.
"""
import os
import threading

from werkzeug.serving import make_server

from . import fixtures

_lock = threading.Lock()
_servers: dict[int, tuple] = {}  # workspace_id -> (server, thread, url)


def workspace_app(app, workspace_id: int):
    """WSGI app answering as workspace ``workspace_id``."""

    def ws_app(environ, start_response):
        environ["plink.workspace_id"] = workspace_id
        return app(environ, start_response)

    return ws_app


def serve(app, wrap=None, host: str = "127.0.0.1", base_port: int | None = None) -> dict[int, str]:
    if base_port is None:
        base_port = int(os.environ.get("PLINK_STACK_DB_WS_BASE_PORT", "0") or 0)
    with _lock:
        for i, w in enumerate(fixtures.WORKSPACES):
            wid = w["workspace_id"]
            if wid in _servers:
                continue
            wsgi = workspace_app(app, wid)
            if wrap is not None:
                wsgi = wrap(wsgi)
            srv = make_server(host, base_port + i if base_port else 0, wsgi, threaded=True)
            t = threading.Thread(target=srv.serve_forever, name=f"plink-ws-{wid}", daemon=True)
            t.start()
            _servers[wid] = (srv, t, f"http://{host}:{srv.server_port}")
        return urls()


def urls() -> dict[int, str]:
    return {wid: entry[2] for wid, entry in _servers.items()}


def stop() -> None:
    with _lock:
        for srv, t, _ in _servers.values():
            srv.shutdown()
            t.join(timeout=5)
            srv.server_close()
        _servers.clear()
