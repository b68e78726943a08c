"""URL maps of the emulator: which path/method goes to which handler, and on which host.

* ``ACCOUNT``: account host only (``/api/2.0/accounts/{account_id}/...``, account OIDC).
* ``WORKSPACE``: workspace hosts (or the account host with ``X-Databricks-Workspace-Id``).
* ``PUBLIC``: no bearer token needed (token endpoints and discovery documents).
"""
from werkzeug.routing import Map, Rule

from . import (ip_access_lists, jobs, network_policies, nccs, rules, statements, workspace_conf, workspace_files,
               workspaces)

ACC = "/api/2.0/accounts/<account_id>"
NCC = ACC + "/network-connectivity-configs"
PER = NCC + "/<ncc_id>/private-endpoint-rules"

# endpoint name -> handler; account handlers take (ctx, account_id, ...), workspace ones (ctx, ...)
ACCOUNT_HANDLERS = {
    "ncc.create": nccs.create, "ncc.list": nccs.list_, "ncc.get": nccs.get, "ncc.delete": nccs.delete,
    "ncc.update": nccs.update,
    "rule.create": rules.create, "rule.list": rules.list_, "rule.get": rules.get, "rule.update": rules.update,
    "rule.delete": rules.delete,
    "ws.list": workspaces.list_, "ws.get": workspaces.get, "ws.update": workspaces.update,
    "np.create": network_policies.create, "np.list": network_policies.list_, "np.get": network_policies.get,
    "np.update": network_policies.update, "np.delete": network_policies.delete,
    "wsnet.get": network_policies.get_option, "wsnet.put": network_policies.put_option,
    "aip.create": ip_access_lists.create, "aip.list": ip_access_lists.list_, "aip.get": ip_access_lists.get,
    "aip.replace": ip_access_lists.replace, "aip.update": ip_access_lists.update,
    "aip.delete": ip_access_lists.delete,
}
WORKSPACE_HANDLERS = {
    "ip.create": ip_access_lists.create, "ip.list": ip_access_lists.list_, "ip.get": ip_access_lists.get,
    "ip.replace": ip_access_lists.replace, "ip.update": ip_access_lists.update, "ip.delete": ip_access_lists.delete,
    "conf.get": workspace_conf.get, "conf.patch": workspace_conf.patch,
    "wh.list": statements.list_warehouses, "wh.get": statements.get_warehouse,
    "stmt.execute": statements.execute, "stmt.get": statements.get, "stmt.chunk": statements.get_chunk,
    "stmt.cancel": statements.cancel,
    "wsf.import": workspace_files.import_, "wsf.status": workspace_files.get_status, "wsf.list": workspace_files.list_,
    "wsf.mkdirs": workspace_files.mkdirs, "wsf.delete": workspace_files.delete,
    "runs.submit": jobs.submit, "runs.get": jobs.get, "runs.output": jobs.get_output, "runs.cancel": jobs.cancel,
}
# The Jobs API answers the same one-time run routes under 2.1 and 2.2 (databricks-sdk 0.162 uses 2.2).
RUNS = ("/api/2.1/jobs/runs", "/api/2.2/jobs/runs")

ACCOUNT = Map([
    Rule("/oidc/accounts/<account_id>/v1/token", methods=["POST"], endpoint="oidc.account_token"),
    Rule("/oidc/accounts/<account_id>/.well-known/oauth-authorization-server", methods=["GET"],
         endpoint="oidc.account_discovery"),
    Rule("/.well-known/databricks-config", methods=["GET"], endpoint="meta.account"),
    Rule(NCC, methods=["POST"], endpoint="ncc.create"),
    Rule(NCC, methods=["GET"], endpoint="ncc.list"),
    Rule(NCC + "/<ncc_id>", methods=["GET"], endpoint="ncc.get"),
    Rule(NCC + "/<ncc_id>", methods=["DELETE"], endpoint="ncc.delete"),
    Rule(NCC + "/<ncc_id>", methods=["PATCH"], endpoint="ncc.update"),
    Rule(PER, methods=["POST"], endpoint="rule.create"),
    Rule(PER, methods=["GET"], endpoint="rule.list"),
    Rule(PER + "/<rule_id>", methods=["GET"], endpoint="rule.get"),
    Rule(PER + "/<rule_id>", methods=["PATCH"], endpoint="rule.update"),
    Rule(PER + "/<rule_id>", methods=["DELETE"], endpoint="rule.delete"),
    Rule(ACC + "/workspaces", methods=["GET"], endpoint="ws.list"),
    Rule(ACC + "/workspaces/<workspace_id>", methods=["GET"], endpoint="ws.get"),
    Rule(ACC + "/workspaces/<workspace_id>", methods=["PATCH"], endpoint="ws.update"),
    Rule(ACC + "/workspaces/<workspace_id>/network", methods=["GET"], endpoint="wsnet.get"),
    Rule(ACC + "/workspaces/<workspace_id>/network", methods=["PUT"], endpoint="wsnet.put"),
    Rule(ACC + "/network-policies", methods=["POST"], endpoint="np.create"),
    Rule(ACC + "/network-policies", methods=["GET"], endpoint="np.list"),
    Rule(ACC + "/network-policies/<policy_id>", methods=["GET"], endpoint="np.get"),
    Rule(ACC + "/network-policies/<policy_id>", methods=["PUT"], endpoint="np.update"),
    Rule(ACC + "/network-policies/<policy_id>", methods=["DELETE"], endpoint="np.delete"),
    Rule(ACC + "/ip-access-lists", methods=["POST"], endpoint="aip.create"),
    Rule(ACC + "/ip-access-lists", methods=["GET"], endpoint="aip.list"),
    Rule(ACC + "/ip-access-lists/<list_id>", methods=["GET"], endpoint="aip.get"),
    Rule(ACC + "/ip-access-lists/<list_id>", methods=["PUT"], endpoint="aip.replace"),
    Rule(ACC + "/ip-access-lists/<list_id>", methods=["PATCH"], endpoint="aip.update"),
    Rule(ACC + "/ip-access-lists/<list_id>", methods=["DELETE"], endpoint="aip.delete"),
], strict_slashes=False)

WORKSPACE = Map([
    Rule("/oidc/v1/token", methods=["POST"], endpoint="oidc.workspace_token"),
    Rule("/oidc/.well-known/oauth-authorization-server", methods=["GET"], endpoint="oidc.workspace_discovery"),
    Rule("/.well-known/databricks-config", methods=["GET"], endpoint="meta.workspace"),
    Rule("/api/2.0/ip-access-lists", methods=["POST"], endpoint="ip.create"),
    Rule("/api/2.0/ip-access-lists", methods=["GET"], endpoint="ip.list"),
    Rule("/api/2.0/ip-access-lists/<list_id>", methods=["GET"], endpoint="ip.get"),
    Rule("/api/2.0/ip-access-lists/<list_id>", methods=["PUT"], endpoint="ip.replace"),
    Rule("/api/2.0/ip-access-lists/<list_id>", methods=["PATCH"], endpoint="ip.update"),
    Rule("/api/2.0/ip-access-lists/<list_id>", methods=["DELETE"], endpoint="ip.delete"),
    Rule("/api/2.0/workspace-conf", methods=["GET"], endpoint="conf.get"),
    Rule("/api/2.0/workspace-conf", methods=["PATCH"], endpoint="conf.patch"),
    Rule("/api/2.0/sql/warehouses", methods=["GET"], endpoint="wh.list"),
    Rule("/api/2.0/sql/warehouses/<warehouse_id>", methods=["GET"], endpoint="wh.get"),
    Rule("/api/2.0/sql/statements", methods=["POST"], endpoint="stmt.execute"),
    Rule("/api/2.0/sql/statements/<statement_id>", methods=["GET"], endpoint="stmt.get"),
    Rule("/api/2.0/sql/statements/<statement_id>/result/chunks/<chunk_index>", methods=["GET"],
         endpoint="stmt.chunk"),
    Rule("/api/2.0/sql/statements/<statement_id>/cancel", methods=["POST"], endpoint="stmt.cancel"),
    Rule("/api/2.0/workspace/import", methods=["POST"], endpoint="wsf.import"),
    Rule("/api/2.0/workspace/get-status", methods=["GET"], endpoint="wsf.status"),
    Rule("/api/2.0/workspace/list", methods=["GET"], endpoint="wsf.list"),
    Rule("/api/2.0/workspace/mkdirs", methods=["POST"], endpoint="wsf.mkdirs"),
    Rule("/api/2.0/workspace/delete", methods=["POST"], endpoint="wsf.delete"),
    *(Rule(f"{base}/{path}", methods=[method], endpoint=endpoint) for base in RUNS for path, method, endpoint in (
        ("submit", "POST", "runs.submit"), ("get", "GET", "runs.get"), ("get-output", "GET", "runs.output"),
        ("cancel", "POST", "runs.cancel"))),
], strict_slashes=False)
