"""Workspace files and one-time serverless runs (what ``plink verify`` uses) with the official client,
databricks-sdk 0.162.0 (``w.workspace``, ``w.jobs``), and boto3 for the AWS side.

The run's report is computed from the emulated world (plink_stack/databricks/verify.py): seed 001's
connection test -- through the S3 interface endpoint the call times out before the NCC is bound and
lists the bucket after -- is reproduced end to end with a real PrivateLink handshake.
"""
import base64
import json
import sys
from pathlib import Path

import boto3
import pytest
import requests
from databricks.sdk.errors import (InvalidParameterValue, NotImplemented as SdkNotImplemented, ResourceAlreadyExists,
                                   ResourceDoesNotExist)
from databricks.sdk.service import compute
from databricks.sdk.service import jobs as jb
from databricks.sdk.service import provisioning as pv
from databricks.sdk.service import settings as st
from databricks.sdk.service import sql
from databricks.sdk.service import workspace as wsv

from conftest_databricks import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plink_stack import clock, settings  # noqa: E402
from plink_stack.databricks import bridge, jobs, workspace_files  # noqa: E402
from plink_stack.databricks.model import Model  # noqa: E402

WS = 1111111111111111
HOME = "/Users/plink-demo-sp"
TASK_FILE = f"{HOME}/.plink/verify.py"
PRINCIPAL = "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"
S = st.NccPrivateEndpointRulePrivateLinkConnectionState
LIFE = jb.RunLifeCycleState
SCRIPT = b"import json, sys\n# plink verify (the emulator never runs it)\nprint(json.loads(sys.argv[1]))\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def files(dbx, workspace_id=WS) -> dict:
    r = requests.get(f"{dbx.host}/_plink/workspace-files", params={"workspace_id": workspace_id}, timeout=10)
    assert r.status_code == 200, r.text
    return {o["path"]: o for o in r.json()["objects"]}


def upload(w, path=TASK_FILE, data=SCRIPT):
    w.workspace.mkdirs(path.rsplit("/", 1)[0])
    w.workspace.import_(path, content=b64(data), format=wsv.ImportFormat.AUTO, overwrite=True)


def submit(w, dests, path=TASK_FILE, **kw):
    """runs/submit of the verify task on serverless compute; returns the run id."""
    params = kw.pop("parameters", None) or [json.dumps(dests)]
    task = jb.SubmitTask(task_key="verify", environment_key="plink",
                         spark_python_task=jb.SparkPythonTask(python_file=path, parameters=params,
                                                              source=jb.Source.WORKSPACE))
    return w.jobs.submit(run_name="plink verify", tasks=[task], environments=[
        jb.JobEnvironment(environment_key="plink", spec=compute.Environment(client="2"))], **kw).response.run_id


def finish(w, run_id, timeout=20.0):
    """Poll runs/get until the run is terminal (the SDK's waiter sleeps >= 1 s per poll)."""
    seen = []

    def done():
        run = w.jobs.get_run(run_id)
        if not seen or seen[-1] != run.state.life_cycle_state:
            seen.append(run.state.life_cycle_state)
        return run if run.state.life_cycle_state in (LIFE.TERMINATED, LIFE.INTERNAL_ERROR) else None

    run = wait_for(done, timeout=timeout, interval=0.03, what=f"run {run_id} terminal")
    return run, seen


def verify(w, dests, **kw):
    """Submit, wait, read the task's output: (run, RunOutput, report lines)."""
    run, _ = finish(w, submit(w, dests, **kw))
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    lines = [json.loads(x) for x in (out.logs or "").splitlines() if x.startswith('{"plink_verify"')]
    assert len(lines) == len(dests), (run.state, out.error, out.logs)
    return run, out, lines


# --- workspace files ------------------------------------------------------------------------------------------

def test_workspace_file_import_status_list_delete(dbx):
    w = dbx.workspace_client(WS)
    assert w.workspace.get_status(HOME).object_type == wsv.ObjectType.DIRECTORY
    with pytest.raises(ResourceDoesNotExist, match=r"The parent folder \(/Users/plink-demo-sp/.plink\) does not exist"):
        w.workspace.import_(TASK_FILE, content=b64(SCRIPT), format=wsv.ImportFormat.AUTO)
    w.workspace.mkdirs(f"{HOME}/.plink")
    w.workspace.mkdirs(f"{HOME}/.plink")  # an existing directory is fine
    w.workspace.import_(TASK_FILE, content=b64(SCRIPT), format=wsv.ImportFormat.AUTO, language=wsv.Language.PYTHON)

    info = w.workspace.get_status(TASK_FILE)
    assert (info.object_type, info.path, info.size, info.language) == (
        wsv.ObjectType.FILE, TASK_FILE, len(SCRIPT), None)
    with pytest.raises(ResourceAlreadyExists, match=r"Path \(/Users/plink-demo-sp/.plink/verify.py\) already exists"):
        w.workspace.import_(TASK_FILE, content=b64(b"print(2)\n"), format=wsv.ImportFormat.AUTO)
    w.workspace.import_(TASK_FILE, content=b64(b"print(2)\n"), format=wsv.ImportFormat.AUTO, overwrite=True)
    again = w.workspace.get_status(TASK_FILE)
    assert again.object_id == info.object_id and again.size == len(b"print(2)\n")

    # AUTO with a notebook header -> a notebook without the extension; SOURCE + language -> a notebook as named
    w.workspace.import_(f"{HOME}/.plink/nb.py", content=b64(b"# Databricks notebook source\nprint(1)\n"),
                        format=wsv.ImportFormat.AUTO)
    w.workspace.import_(f"{HOME}/.plink/src.py", content=b64(b"print(1)\n"), format=wsv.ImportFormat.SOURCE,
                        language=wsv.Language.PYTHON)
    w.workspace.upload(f"{HOME}/.plink/raw.txt", b"multipart", format=wsv.ImportFormat.RAW)  # multipart form
    listed = {o.path: (o.object_type, o.language) for o in w.workspace.list(f"{HOME}/.plink")}
    assert listed == {f"{HOME}/.plink/nb": (wsv.ObjectType.NOTEBOOK, wsv.Language.PYTHON),
                      f"{HOME}/.plink/src.py": (wsv.ObjectType.NOTEBOOK, wsv.Language.PYTHON),
                      f"{HOME}/.plink/raw.txt": (wsv.ObjectType.FILE, None),
                      TASK_FILE: (wsv.ObjectType.FILE, None)}
    assert files(dbx)[f"{HOME}/.plink/raw.txt"]["size"] == len(b"multipart")

    r = dbx.call("POST", "/api/2.0/workspace/delete", host=w.config.host, json={"path": f"{HOME}/.plink"})
    assert r.status_code == 400 and r.json()["error_code"] == "DIRECTORY_NOT_EMPTY", r.text
    w.workspace.delete(TASK_FILE)
    with pytest.raises(ResourceDoesNotExist, match=r"Path \(/Users/plink-demo-sp/.plink/verify.py\) doesn't exist"):
        w.workspace.get_status(TASK_FILE)
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.delete(TASK_FILE)
    w.workspace.delete(f"{HOME}/.plink", recursive=True)
    assert not [p for p in files(dbx) if p.startswith(f"{HOME}/.plink")]
    assert list(files(dbx)) == ["/Shared", "/Users", HOME]  # the seeded folders


def test_workspace_api_wire_errors(dbx):
    host = dbx.workspaces[WS]["host"]
    imp = {"path": "relative/x.py", "content": b64(b"x"), "format": "AUTO"}
    for body, status, code, needle in (
            (imp, 400, "INVALID_PARAMETER_VALUE", "doesn't start with '/'"),
            ({**imp, "path": f"{HOME}/x.py", "content": "not base64!"}, 400, "INVALID_PARAMETER_VALUE", "base64"),
            ({**imp, "path": f"{HOME}/x.py", "format": "auto"}, 400, "INVALID_PARAMETER_VALUE", "case-sensitive"),
            ({**imp, "path": f"{HOME}/x.py", "format": "SOURCE"}, 400, "INVALID_PARAMETER_VALUE", "language"),
            ({**imp, "path": "/nope/x.py"}, 404, "RESOURCE_DOES_NOT_EXIST", "The parent folder (/nope)")):
        r = dbx.call("POST", "/api/2.0/workspace/import", host=host, json=body)
        assert (r.status_code, r.json()["error_code"]) == (status, code), r.text
        assert needle in r.json()["message"]
        assert r.json()["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"
    r = dbx.call("GET", "/api/2.0/workspace/get-status", host=host, params={"path": "/nope"})
    assert (r.status_code, r.json()["error_code"], r.json()["message"]) == (
        404, "RESOURCE_DOES_NOT_EXIST", "Path (/nope) doesn't exist.")
    r = dbx.call("POST", "/api/2.0/workspace/import", host=host, json={**imp, "path": f"{HOME}/x.py"})
    assert r.status_code == 200 and r.json() == {}
    r = dbx.call("POST", "/api/2.0/workspace/mkdirs", host=host, json={"path": f"{HOME}/x.py/sub"})
    assert (r.status_code, r.json()["error_code"]) == (409, "RESOURCE_ALREADY_EXISTS")
    # the workspace host only knows its own files
    assert f"{HOME}/x.py" not in files(dbx, 2222222222222222)


# --- one-time runs -------------------------------------------------------------------------------------------

def test_submit_poll_get_output(dbx):
    dbx.config(job_run_pending=20, job_run=30)
    w = dbx.workspace_client(WS)
    upload(w)
    dests = [{"kind": "s3", "bucket": "plink-demo-data", "region": "us-east-1"},
             {"kind": "tcp", "host": "pypi.org", "port": 443, "tls": True, "name": "pypi"}]
    run_id = submit(w, dests)
    run, seen = finish(w, run_id)
    assert seen == [LIFE.PENDING, LIFE.RUNNING, LIFE.TERMINATED]
    assert run.state.result_state == jb.RunResultState.SUCCESS and run.state.state_message == ""
    assert run.run_type == jb.RunType.SUBMIT_RUN and run.run_name == "plink verify"
    assert run.status.state == jb.RunLifecycleStateV2State.TERMINATED
    assert run.status.termination_details.code == jb.TerminationCodeCode.SUCCESS
    assert run.end_time >= run.start_time and run.setup_duration > 0 and run.execution_duration > 0
    [task] = run.tasks
    assert task.task_key == "verify" and task.run_id != run_id and task.spark_python_task.python_file == TASK_FILE
    assert task.state.result_state == jb.RunResultState.SUCCESS

    with pytest.raises(InvalidParameterValue, match="output of runs with multiple tasks is not supported"):
        w.jobs.get_run_output(run_id)
    out = w.jobs.get_run_output(task.run_id)
    assert out.notebook_output is None and out.error is None and out.logs_truncated is False
    assert out.metadata.run_id == task.run_id and out.metadata.state.result_state == jb.RunResultState.SUCCESS
    s3, pypi = [json.loads(x) for x in out.logs.splitlines()]
    assert s3["plink_verify"] == 1 and s3["ok"] is True and s3["private"] is False
    assert s3["host"] == "plink-demo-data.s3.us-east-1.amazonaws.com" and s3["port"] == 443
    assert s3["list_objects_v2"] == {"ok": True, "http_status": 200, "error_code": None, "key_count": 0}
    assert s3["tls"]["ok"] is True and s3["connect_ms"] > 0 and s3["emulator"]["path"] == "internet"
    assert (pypi["name"], pypi["ok"], pypi["tls"]["sni"]) == ("pypi", True, "pypi.org")
    assert "list_objects_v2" not in pypi

    # a task run id reads as a run of its own
    alone = w.jobs.get_run(task.run_id)
    assert (alone.run_id, alone.job_run_id) == (task.run_id, run_id)
    assert alone.state.result_state == jb.RunResultState.SUCCESS
    # the client removes its file afterwards
    w.workspace.delete(TASK_FILE)
    assert TASK_FILE not in files(dbx)


def test_submit_validation_and_unknown_runs(dbx):
    w = dbx.workspace_client(WS)
    spt = jb.SparkPythonTask(python_file=TASK_FILE, parameters=["[]"])
    with pytest.raises(InvalidParameterValue, match="An environment is required for serverless task verify"):
        w.jobs.submit(tasks=[jb.SubmitTask(task_key="verify", spark_python_task=spt)])
    with pytest.raises(InvalidParameterValue, match="'nope' is not defined"):
        w.jobs.submit(tasks=[jb.SubmitTask(task_key="verify", spark_python_task=spt, environment_key="nope")])
    with pytest.raises(SdkNotImplemented, match="classic compute"):
        w.jobs.submit(tasks=[jb.SubmitTask(task_key="verify", spark_python_task=spt, existing_cluster_id="0101-x")])
    with pytest.raises(SdkNotImplemented, match="notebook_task"):
        w.jobs.submit(tasks=[jb.SubmitTask(task_key="nb", notebook_task=jb.NotebookTask(notebook_path="/x"))])
    with pytest.raises(InvalidParameterValue, match="1 to 64 characters"):
        submit(w, [], idempotency_token="x" * 65)
    # 400 INVALID_PARAMETER_VALUE "Run N does not exist.": the SDK's error overrides turn it into
    # ResourceDoesNotExist on runs/get* (databricks/sdk/errors/overrides.py), not on cancel
    for call in (lambda: w.jobs.get_run(123), lambda: w.jobs.get_run_output(123)):
        with pytest.raises(ResourceDoesNotExist, match="Run 123 does not exist."):
            call()
    with pytest.raises(InvalidParameterValue, match="Run 123 does not exist."):
        w.jobs.cancel_run(123)
    r = dbx.call("GET", "/api/2.1/jobs/runs/get", host=w.config.host, params={"run_id": 123})
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    # another workspace's run does not exist here
    upload(w)
    run_id = submit(w, [{"kind": "tcp", "host": "pypi.org", "port": 443}])
    other = dbx.workspace_client(2222222222222222)
    with pytest.raises(ResourceDoesNotExist, match=f"Run {run_id} does not exist."):
        other.jobs.get_run(run_id)


def test_idempotency_token(dbx):
    dbx.config(job_run_pending=100, job_run=100)
    w = dbx.workspace_client(WS)
    upload(w)
    dests = [{"kind": "tcp", "host": "pypi.org", "port": 443}]
    first = submit(w, dests, idempotency_token="plink-verify-1")
    assert submit(w, dests, idempotency_token="plink-verify-1") == first  # a retry: same run
    assert submit(w, [], idempotency_token="plink-verify-1") == first    # whatever the body says
    assert submit(w, dests, idempotency_token="plink-verify-2") != first
    assert submit(w, dests) != submit(w, dests)                          # no token, new runs
    # per workspace
    other = dbx.workspace_client(2222222222222222)
    upload(other)
    assert submit(other, dests, idempotency_token="plink-verify-1") != first


def test_cancel(dbx):
    dbx.config(job_run_pending=20, job_run=100_000)  # RUNNING for 1000 s at the tests' scale
    w = dbx.workspace_client(WS)
    upload(w)
    run_id = submit(w, [{"kind": "tcp", "host": "pypi.org", "port": 443}])
    wait_for(lambda: w.jobs.get_run(run_id).state.life_cycle_state == LIFE.RUNNING, what="RUNNING")
    w.jobs.cancel_run(run_id)  # asynchronous
    run, _ = finish(w, run_id)
    assert (run.state.life_cycle_state, run.state.result_state) == (LIFE.TERMINATED, jb.RunResultState.CANCELED)
    assert run.state.user_cancelled_or_timedout is True
    assert run.status.termination_details.code == jb.TerminationCodeCode.USER_CANCELED
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    assert out.logs == "" and out.metadata.state.result_state == jb.RunResultState.CANCELED
    w.jobs.cancel_run(run_id)  # a finished run stays as it is
    assert w.jobs.get_run(run_id).state.result_state == jb.RunResultState.CANCELED


def test_failures_timeout_and_missing_file(dbx):
    dbx.config(job_run_pending=10, job_run=30)
    w = dbx.workspace_client(WS)
    # no file: FAILED before running
    run, seen = finish(w, submit(w, [{"kind": "tcp", "host": "pypi.org", "port": 443}], path=f"{HOME}/none.py"))
    assert LIFE.RUNNING not in seen and run.state.result_state == jb.RunResultState.FAILED
    assert run.state.state_message == "Workload failed, see run output for details"
    assert run.tasks[0].state.state_message == f"The python file {HOME}/none.py does not exist."
    assert run.status.termination_details.code == jb.TerminationCodeCode.RESOURCE_NOT_FOUND
    assert "No such file or directory" in w.jobs.get_run_output(run.tasks[0].run_id).error
    # a notebook is not a python file
    w.workspace.import_(f"{HOME}/nb.py", content=b64(b"print(1)\n"), format=wsv.ImportFormat.SOURCE,
                        language=wsv.Language.PYTHON)
    run, _ = finish(w, submit(w, [{"kind": "tcp", "host": "pypi.org", "port": 443}], path=f"{HOME}/nb.py"))
    assert run.tasks[0].state.state_message == f"The python file {HOME}/nb.py is a notebook, not a file."
    # a parameter the task cannot read: the task fails like a script raising ValueError
    upload(w)
    for params, needle in ((["not json"], "the argument is not JSON"),
                           (["[{\"kind\": \"udp\"}]"], "destination 0: 'kind' must be 's3' or 'tcp'"),
                           (["[]", "[]"], "exactly one argument")):
        run, _ = finish(w, submit(w, None, parameters=params))
        out = w.jobs.get_run_output(run.tasks[0].run_id)
        assert run.state.result_state == jb.RunResultState.FAILED and needle in out.error, out.error
        assert out.error.startswith("ValueError: ") and out.error_trace.startswith("Traceback")
    # timeout_seconds shorter than the execution
    run, _ = finish(w, submit(w, [{"kind": "tcp", "host": "pypi.org", "port": 443}], timeout_seconds=10))
    assert run.state.result_state == jb.RunResultState.TIMEDOUT and run.state.user_cancelled_or_timedout is True


# --- reachability: seed 001 end to end ---------------------------------------------------------------------

def aws_client(dbx, service: str, account: str = "123456789012"):
    return boto3.client(service, endpoint_url=dbx.aws_endpoint, region_name="us-east-1",
                        aws_access_key_id=account, aws_secret_access_key="test")


def s3_behind_nlb(dbx) -> dict:
    """Seed 001 steps 1-3 in the demo VPC: an S3 interface endpoint, an internal NLB whose TCP 443
    target group holds the endpoint's ENI IPs, an endpoint service allowing Databricks' role."""
    ec2, elbv2 = aws_client(dbx, "ec2"), aws_client(dbx, "elbv2")
    demo = requests.get(dbx.aws_endpoint + "/_plink/fixtures", timeout=10).json()["regions"]["us-east-1"]
    vpc, subnets = demo["vpc_id"], [demo["subnets"][k]["id"] for k in ("private-a", "private-b")]
    ep = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Interface",
                                 SubnetIds=subnets)["VpcEndpoint"]
    ips = [n["PrivateIpAddress"] for n in ec2.describe_network_interfaces(
        NetworkInterfaceIds=ep["NetworkInterfaceIds"])["NetworkInterfaces"]]
    lb = elbv2.create_load_balancer(Name="databricks-s3-nlb", Type="network", Scheme="internal",
                                    Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="s3-endpoint-targets", Protocol="TCP", Port=443, VpcId=vpc, TargetType="ip",
                                   HealthCheckIntervalSeconds=10, HealthyThresholdCount=2,
                                   )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip, "Port": 443} for ip in ips])
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="TCP", Port=443,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    svc = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[lb],
                                                        AcceptanceRequired=True)["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(ServiceId=svc["ServiceId"], AddAllowedPrincipals=[PRINCIPAL])
    # plink's s3-privatelink default domain name: the endpoint's shortest DNS name (*.vpce-….s3.<region>.vpce…)
    dns = min((e["DnsName"] for e in ep["DnsEntries"]), key=len)
    return {"endpoint_ips": sorted(ips), "dns": dns, "service_id": svc["ServiceId"],
            "service_name": svc["ServiceName"], "target_group": tg, "ec2": ec2, "elbv2": elbv2}


def established_rule(a, nid: str, aws: dict, names: list[str]):
    rule = a.network_connectivity.create_private_endpoint_rule(
        nid, st.CreatePrivateEndpointRule(endpoint_service=aws["service_name"], domain_names=names))
    get = lambda: a.network_connectivity.get_private_endpoint_rule(nid, rule.rule_id)  # noqa: E731
    vpce = wait_for(lambda: get().vpc_endpoint_id, what="rule PENDING")
    aws["ec2"].accept_vpc_endpoint_connections(ServiceId=aws["service_id"], VpcEndpointIds=[vpce])
    wait_for(lambda: get().connection_state == S.ESTABLISHED, what="rule ESTABLISHED")
    return get()


def bind(a, nid: str, workspace_id: int = WS):
    a.workspaces.update_and_wait(workspace_id, pv.Workspace(network_connectivity_config_id=nid),
                                 update_mask="network_connectivity_config_id")


def test_seed_001_timeout_before_binding_bucket_listed_after(dbx):
    dbx.config(nlb_provisioning=20, endpoint_pending=20)
    a, w = dbx.account_client(), dbx.workspace_client(WS)
    aws = s3_behind_nlb(dbx)
    aws_client(dbx, "s3").put_object(Bucket="plink-demo-data", Key="test.txt", Body=b"hello")
    nid = a.network_connectivity.create_network_connectivity_configuration(
        st.CreateNetworkConnectivityConfiguration(name="s3-privatelink-ncc", region="us-east-1")
    ).network_connectivity_config_id
    rule = established_rule(a, nid, aws, [aws["dns"]])
    upload(w)
    endpoint = aws["dns"].removeprefix("*.")
    dest = [{"kind": "s3", "bucket": "plink-demo-data", "region": "us-east-1", "endpoint": endpoint}]

    # step 6: the rule is ESTABLISHED, the NCC not yet bound -> the endpoint's name resolves to its
    # private IPs in the customer VPC, which serverless cannot reach: timeout
    run, out, [before] = verify(w, dest)
    assert run.state.result_state == jb.RunResultState.SUCCESS  # the task ran; the report says what failed
    assert before["host"] == f"plink-demo-data.{endpoint}"
    assert (before["ok"], before["error"], before["connect_ms"]) == (False, "timeout", None)
    assert before["addresses"] == aws["endpoint_ips"] and before["private"] is True
    assert before["list_objects_v2"] is None and before["emulator"]["path"] == "none"

    # step 7: bind the NCC -> through Databricks' endpoint, the NLB and the S3 endpoint, the bucket lists
    bind(a, nid)
    _, _, [after] = verify(w, dest)
    assert after["ok"] is True and after["error"] is None, after
    assert after["emulator"] == {"path": "private_endpoint", "rule_id": rule.rule_id, "policy": None, "reason": None}
    enis = aws_client(dbx, "ec2", "565502421330").describe_network_interfaces(Filters=[
        {"Name": "description", "Values": [f"VPC Endpoint Interface {rule.vpc_endpoint_id}"]}])["NetworkInterfaces"]
    databricks_ips = sorted(n["PrivateIpAddress"] for n in enis)
    assert after["addresses"] == databricks_ips and all(ip.startswith("10.250.") for ip in databricks_ips)
    assert after["tls"] == {"ok": True, "sni": f"plink-demo-data.{endpoint}", "version": "TLSv1.3"}
    assert after["list_objects_v2"] == {"ok": True, "http_status": 200, "error_code": None, "key_count": 1}

    # the AWS side breaks: no healthy target behind the NLB -> timeout again; a missing bucket -> NoSuchBucket
    ips = aws["endpoint_ips"]
    aws["elbv2"].deregister_targets(TargetGroupArn=aws["target_group"], Targets=[{"Id": ip, "Port": 443} for ip in ips])
    _, _, [broken, missing] = verify(w, dest + [{**dest[0], "bucket": "plink-no-such-bucket"}])
    assert broken["error"] == "timeout" and "no healthy target" in broken["emulator"]["reason"]
    assert missing["error"] == "timeout"  # same path
    aws["elbv2"].register_targets(TargetGroupArn=aws["target_group"], Targets=[{"Id": ip, "Port": 443} for ip in ips])
    dbx.config(job_run=50)  # longer than the re-registered targets' health checks (10 s x 2)
    _, _, [healthy, missing] = verify(w, dest + [{**dest[0], "bucket": "plink-no-such-bucket"}])
    assert healthy["ok"] is True
    assert (missing["error"], missing["list_objects_v2"]["error_code"]) == ("s3_error", "NoSuchBucket")


def test_private_names_ports_and_native_s3_rules(dbx):
    dbx.config(nlb_provisioning=20, endpoint_pending=20)
    a, w = dbx.account_client(), dbx.workspace_client(WS)
    aws = s3_behind_nlb(dbx)  # its NLB listens on 443 only
    nid = a.network_connectivity.create_network_connectivity_configuration(
        st.CreateNetworkConnectivityConfiguration(name="nlb-ncc", region="us-east-1")).network_connectivity_config_id
    established_rule(a, nid, aws, ["db.internal.example.com"])
    upload(w)
    db443 = {"kind": "tcp", "host": "db.internal.example.com", "port": 443, "tls": True}
    db5432 = {"kind": "tcp", "host": "db.internal.example.com", "port": 5432}
    _, _, lines = verify(w, [db443, {"kind": "tcp", "host": "10.20.1.10", "port": 443}])
    # a name only a rule knows: NXDOMAIN while the NCC is not bound; a private IP: not routable
    assert [(x["error"], x["addresses"]) for x in lines] == [("dns_failure", []), ("timeout", ["10.20.1.10"])]
    bind(a, nid)
    _, _, (ok, no_listener) = verify(w, [db443, db5432])
    assert ok["ok"] is True and ok["private"] is True and ok["tls"]["ok"] is True
    assert no_listener["error"] == "timeout" and "no listener on port 5432" in no_listener["emulator"]["reason"]

    # native S3 rule (field-update §1.4): the standard S3 name goes private only once the rule is enabled
    s3rule = a.network_connectivity.create_private_endpoint_rule(
        nid, st.CreatePrivateEndpointRule(endpoint_service="com.amazonaws.us-east-1.s3",
                                          resource_names=["plink-demo-data"]))
    vpce = wait_for(lambda: a.network_connectivity.get_private_endpoint_rule(nid, s3rule.rule_id).vpc_endpoint_id,
                    what="S3 rule PENDING")
    aws_client(dbx, "s3").put_bucket_policy(Bucket="plink-demo-data", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                                "Resource": "arn:aws:s3:::plink-demo-data/*",
                                                "Condition": {"StringEquals": {"aws:SourceVpce": vpce}}}]}))
    wait_for(lambda: a.network_connectivity.get_private_endpoint_rule(nid, s3rule.rule_id).connection_state
             == S.ESTABLISHED, what="S3 rule ESTABLISHED")
    bucket = {"kind": "s3", "bucket": "plink-demo-data", "region": "us-east-1"}
    _, _, [public] = verify(w, [bucket])
    assert public["ok"] is True and public["private"] is False and public["emulator"]["path"] == "internet"
    a.network_connectivity.update_private_endpoint_rule(nid, s3rule.rule_id, st.UpdatePrivateEndpointRule(enabled=True),
                                                        update_mask="enabled")
    _, _, [private] = verify(w, [bucket])
    assert private["ok"] is True and private["private"] is True
    assert private["emulator"]["rule_id"] == s3rule.rule_id and private["addresses"][0].startswith("10.250.")


# --- egress policy --------------------------------------------------------------------------------------------

def test_enforced_egress_policy_blocks_and_logs(dbx):
    w = dbx.workspace_client(WS)
    upload(w)
    policy = {"network_policy_id": "plink-verify", "egress": {"network_access": {
        "restriction_mode": "RESTRICTED_ACCESS",
        "allowed_internet_destinations": [{"destination": "pypi.org", "internet_destination_type": "DNS_NAME"}],
        "allowed_storage_destinations": [{"bucket_name": "plink-demo-data", "region": "us-east-1",
                                          "storage_destination_type": "AWS_S3"}]}}}
    assert dbx.call("POST", dbx.acc("/network-policies"), json=policy).status_code == 200
    r = dbx.call("PUT", dbx.acc(f"/workspaces/{WS}/network"),
                 json={"workspace_id": WS, "network_policy_id": "plink-verify"})
    assert r.status_code == 200, r.text
    dests = [{"kind": "tcp", "host": "pypi.org", "port": 443, "tls": True},
             {"kind": "tcp", "host": "qiita.com", "port": 443, "tls": True},
             {"kind": "s3", "bucket": "plink-demo-data", "region": "us-east-1"},
             {"kind": "s3", "bucket": "plink-demo-logs", "region": "us-east-1"}]
    run, _, lines = verify(w, dests)
    assert run.state.result_state == jb.RunResultState.SUCCESS
    assert [(x["ok"], x["error"], x["emulator"]["policy"]) for x in lines] == [
        (True, None, None), (False, "dns_failure", "DROP"), (True, None, None), (False, "s3_error", "DROP")]
    assert lines[3]["list_objects_v2"] == {"ok": False, "http_status": 403, "error_code": "AccessDenied",
                                           "key_count": None}

    # the denials are in system.access.outbound_network, as General Compute
    wid = dbx.workspaces[WS]["warehouse_id"]
    res = w.statement_execution.execute_statement(
        "SELECT destination_type, destination, access_type, network_source_type FROM system.access.outbound_network "
        "WHERE workspace_id = :ws ORDER BY destination", wid, wait_timeout="30s",
        parameters=[sql.StatementParameterListItem(name="ws", value=str(WS))])
    assert res.result.data_array == [["DNS", "qiita.com", "DROP", "General Compute"],
                                     ["STORAGE", "s3://plink-demo-logs/", "DROP", "General Compute"]]

    # dry run: the attempt goes through and is logged as DRY_RUN_DENIAL
    policy["egress"]["network_access"]["policy_enforcement"] = {"enforcement_mode": "DRY_RUN"}
    assert dbx.call("PUT", dbx.acc("/network-policies/plink-verify"), json=policy).status_code == 200
    _, _, [dry] = verify(w, [dests[1]])
    assert (dry["ok"], dry["emulator"]["policy"]) == (True, "DRY_RUN_DENIAL")


# --- in-process: what the shared stack cannot produce on demand ---------------------------------------------

class BrokenBridge:
    """Every AWS-side question fails (the AWS emulator is down or raises)."""

    def __getattr__(self, name):
        def fail(*_, **__):
            raise RuntimeError("AWS side unavailable")
        return fail


def test_internal_error_when_the_aws_side_fails():
    model = Model()
    model.reset()
    bridge.use(BrokenBridge())
    settings.update({"job_run_pending": 0, "job_run": 0})
    try:
        path = f"/Workspace{TASK_FILE}"  # the same file through the /Workspace mount
        workspace_files.tree(model, WS)[TASK_FILE] = workspace_files.WsObject(TASK_FILE, "FILE", 1, 0, 0)
        run = jobs.Run(1, 2, WS, "plink verify", clock.now_ms(), "http://127.0.0.1")
        params = [json.dumps([{"kind": "tcp", "host": "pypi.org", "port": 443}])]
        task = jobs.TaskRun(3, "verify", {"spark_python_task": {"python_file": path, "parameters": params}},
                            clock.now_ms(), clock.now())
        run.tasks.append(task)
        model.runs[run.run_id], model.task_runs[task.run_id] = run, run.run_id
        jobs.advance(model)
        assert task.life_cycle_state == "RUNNING"
        jobs.advance(model)
        rendered = jobs.render_run(run)
        assert rendered["state"] == {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED",
                                     "state_message": "Internal error: RuntimeError: AWS side unavailable",
                                     "user_cancelled_or_timedout": False}
        assert rendered["status"]["termination_details"]["code"] == "INTERNAL_ERROR"
        assert task.logs is None
    finally:
        bridge.use(None)
        settings.reset()
