"""Jobs API one-time runs on serverless compute (databricks-sdk 0.162 ``w.jobs.submit`` / ``get_run`` /
``get_run_output`` / ``cancel_run``; wire shapes ``SubmitTask``, ``Run``, ``RunTask``, ``RunState``,
``RunStatus``, ``RunOutput``). Only what ``plink verify`` needs: ``spark_python_task`` tasks on
serverless compute, whose outcome verify.py computes from the emulated world.

Routes (workspace host, or the account host with ``X-Databricks-Workspace-Id``; ``2.1`` and ``2.2``,
the SDK uses 2.2):

* ``POST /api/2.x/jobs/runs/submit`` ``{run_name?, tasks: [{task_key, spark_python_task: {python_file,
  parameters?, source?: WORKSPACE}, environment_key, timeout_seconds?}], environments?: [{environment_key,
  spec: {client | environment_version, dependencies?}}], idempotency_token?, timeout_seconds?}`` ->
  ``{"run_id": N}``. No cluster spec = serverless; serverless needs an environment (issue
  databricks-sdk-py #1228 quotes the 400: "An environment is required for serverless task …").
  ``idempotency_token`` (≤ 64 characters): "If a run with the provided token already exists, the
  request does not create a new run but returns the ID of the existing run instead" (SDK docstring),
  per workspace, whatever the rest of the body says.
* ``GET /api/2.x/jobs/runs/get?run_id=`` -> ``Run`` (``run_type: SUBMIT_RUN``, ``state``, ``status``,
  ``tasks[]`` with their own ``run_id``); a task run id answers that task as a run.
* ``GET /api/2.x/jobs/runs/get-output?run_id=<task run id>`` -> ``{metadata, logs, logs_truncated}``
  (+ ``error``, ``error_trace`` when the task failed; no ``notebook_output``). The parent run's id ->
  400 ``INVALID_PARAMETER_VALUE`` "Retrieving the output of runs with multiple tasks is not supported.
  Please retrieve the output of each individual task run instead." (databricks-sdk-py #997,
  apache/airflow #25427: even for one task). ``logs`` keeps the last 5 MB (SDK docstring of ``logs``).
* ``POST /api/2.x/jobs/runs/cancel`` ``{run_id}`` -> ``{}``: asynchronous ("may still be running when
  this request completes"): ``TERMINATING`` now, ``TERMINATED``/``CANCELED`` on the next tick; a task
  run id cancels that task only; a finished run is left as it is.
* Unknown run id (or another workspace's) -> 400 ``INVALID_PARAMETER_VALUE`` "Run N does not exist."
  (the Jobs API's pattern "Job 0 does not exist."; get-output docs: "returns an HTTP status code 400 if
  the run_id parameter is invalid").

Life cycle (the ticker calls ``advance``; delays ``job_run_pending``, ``job_run`` in settings):
``PENDING`` --job_run_pending--> the python file must be a workspace ``FILE`` (else ``TERMINATED`` /
``FAILED``, ``RESOURCE_NOT_FOUND``) --> ``RUNNING`` --job_run--> ``TERMINATED``/``SUCCESS`` with the
report as ``logs`` -- also when destinations are unreachable: the report says which (the task ran and
exited 0). A parameter the task cannot read -> ``FAILED`` (``error`` = the task's ValueError). A
``timeout_seconds`` (task's, else the run's) shorter than ``job_run`` -> ``TIMEDOUT`` after it. The
AWS bridge failing -> ``INTERNAL_ERROR``. State messages of non-successful states are the emulator's
wording (UNCONFIRMED); ``Workload failed, see run output for details`` is the one public reports quote.

Not emulated (501 ``NOT_IMPLEMENTED``): other task types, classic compute (``new_cluster``,
``existing_cluster_id``, ``job_cluster_key``), ``depends_on``, ``git_source``, cloud-URI python files.
"""
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field

from .. import clock, settings
from . import errors, fixtures, verify, workspace_files
from .context import Ctx
from .system_tables import iso

# the task-type fields of the SDK's SubmitTask (exactly one per task)
TASK_TYPES = ("notebook_task", "spark_python_task", "spark_jar_task", "spark_submit_task", "python_wheel_task",
              "pipeline_task", "sql_task", "dbt_task", "run_job_task", "condition_task", "for_each_task",
              "dashboard_task", "clean_rooms_notebook_task", "power_bi_task", "gen_ai_compute_task",
              "dbt_cloud_task", "dbt_platform_task", "alert_task", "ai_function_task", "ai_runtime_task",
              "python_operator_task")
CLUSTER_KEYS = ("new_cluster", "existing_cluster_id", "job_cluster_key")
TASK_KEY_RE = re.compile(r"^[\w-]{1,100}$")
MAX_TASKS = 100
MAX_TOKEN = 64
MAX_LOGS = 5 * 1024 * 1024
TERMINAL = ("TERMINATED", "INTERNAL_ERROR", "SKIPPED")
MESSAGES = {"PENDING": "Waiting for serverless compute.", "RUNNING": "In run", "TERMINATING": "Cancelling."}
# termination_details (RunStatus, the v2 state) per outcome: (code, type)
TERMINATION = {"SUCCESS": ("SUCCESS", "SUCCESS"), "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
               "NOT_FOUND": ("RESOURCE_NOT_FOUND", "CLIENT_ERROR"), "TIMEDOUT": ("CANCELED", "CLIENT_ERROR"),
               "CANCELED": ("USER_CANCELED", "SUCCESS"), "INTERNAL_ERROR": ("INTERNAL_ERROR", "INTERNAL_ERROR")}
_run_ids = itertools.count(700_000_000_000_001)
_job_ids = itertools.count(900_000_000_000_001)


@dataclass
class TaskRun:
    run_id: int
    task_key: str
    settings: dict             # the submitted task, echoed by runs/get
    start_time: int            # epoch ms
    pending_since: float       # clock.now()
    timeout_seconds: int = 0
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = MESSAGES["PENDING"]
    termination: str | None = None  # key of TERMINATION
    cancelled_or_timedout: bool = False
    running_since: float | None = None
    running_ms: int | None = None
    end_time: int | None = None
    logs: str | None = None
    error: str | None = None
    error_trace: str | None = None

    @property
    def python_file(self) -> str:
        return self.settings["spark_python_task"]["python_file"]


@dataclass
class Run:
    run_id: int
    job_id: int
    workspace_id: int
    run_name: str
    start_time: int
    host: str
    tasks: list = field(default_factory=list)
    environments: list | None = None
    timeout_seconds: int = 0


# --- validation ----------------------------------------------------------------------------------------------

def _not_emulated(what: str) -> errors.ApiError:
    return errors.ApiError(501, "NOT_IMPLEMENTED", f"The local emulator does not run {what}.")


def _int(value, name: str, minimum: int = 0) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise errors.invalid_parameter(f"Field '{name}' must be an integer >= {minimum}.")
    return value


def _environments(raw) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise errors.invalid_parameter("Field 'environments' must be a list.")
    envs = {}
    for env in raw:
        key = env.get("environment_key") if isinstance(env, dict) else None
        if not isinstance(key, str) or not key:
            raise errors.invalid_parameter("Every environment needs an 'environment_key'.")
        if key in envs:
            raise errors.invalid_parameter(f"Duplicate environment_key '{key}'.")
        spec = env.get("spec")
        if not isinstance(spec, dict) or not (spec.get("client") or spec.get("environment_version")):
            raise errors.invalid_parameter(
                f"Environment '{key}' needs a spec with 'environment_version' (or the older 'client').")
        envs[key] = env
    return envs


def _task(raw, envs: dict, keys: set) -> dict:
    if not isinstance(raw, dict):
        raise errors.invalid_parameter("Every task must be an object.")
    key = raw.get("task_key")
    if not isinstance(key, str) or not TASK_KEY_RE.match(key):
        raise errors.invalid_parameter(
            "Every task needs a 'task_key' of 1 to 100 letters, digits, '_' or '-'.")
    if key in keys:
        raise errors.invalid_parameter(f"Duplicate task_key '{key}'.")
    kinds = [k for k in TASK_TYPES if raw.get(k) is not None]
    if len(kinds) != 1:
        raise errors.invalid_parameter(f"Task {key} must have exactly one task type.")
    if kinds[0] != "spark_python_task":
        raise _not_emulated(f"{kinds[0]} tasks (only spark_python_task)")
    if any(raw.get(k) for k in CLUSTER_KEYS):
        raise _not_emulated("tasks on classic compute (only serverless: no cluster specification)")
    if raw.get("depends_on"):
        raise _not_emulated("task dependencies (depends_on)")
    spt = raw["spark_python_task"]
    if not isinstance(spt, dict) or not isinstance(spt.get("python_file"), str) or not spt["python_file"]:
        raise errors.invalid_parameter(f"Task {key}: spark_python_task.python_file is required.")
    if spt.get("source", "WORKSPACE") not in ("WORKSPACE", "GIT"):
        raise errors.invalid_parameter(f"Task {key}: spark_python_task.source must be WORKSPACE or GIT.")
    if spt.get("source") == "GIT":
        raise _not_emulated("python files from git_source")
    if not spt["python_file"].startswith("/"):
        raise _not_emulated("python files outside the workspace (cloud URIs)")
    params = spt.get("parameters")
    if params is not None and (not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
        raise errors.invalid_parameter(f"Task {key}: spark_python_task.parameters must be a list of strings.")
    env_key = raw.get("environment_key")
    if not env_key:
        raise errors.invalid_parameter(
            f"An environment is required for serverless task {key}. Please define one using `environments` "
            "and `environment_key`.")
    if env_key not in envs:
        raise errors.invalid_parameter(f"Task {key}: environment_key '{env_key}' is not defined in 'environments'.")
    _int(raw.get("timeout_seconds"), "timeout_seconds")
    keys.add(key)
    return raw


def _validated(body: dict) -> dict:
    name = body.get("run_name", "Untitled")
    if not isinstance(name, str) or len(name.encode()) > 4096:
        raise errors.invalid_parameter("Field 'run_name' must be a string of at most 4096 bytes.")
    token = body.get("idempotency_token")
    if token is not None and (not isinstance(token, str) or not token or len(token) > MAX_TOKEN):
        raise errors.invalid_parameter(f"Field 'idempotency_token' must be 1 to {MAX_TOKEN} characters.")
    envs = _environments(body.get("environments"))
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise errors.invalid_parameter("Field 'tasks' must be a non-empty list.")
    if len(tasks) > MAX_TASKS:
        raise errors.invalid_parameter(f"A run has at most {MAX_TASKS} tasks.")
    keys: set = set()
    return {"run_name": name or "Untitled", "token": token, "tasks": [_task(t, envs, keys) for t in tasks],
            "environments": body.get("environments"),
            "timeout_seconds": _int(body.get("timeout_seconds"), "timeout_seconds")}


# --- rendering -------------------------------------------------------------------------------------------------

def _times(start: int, running_ms: int | None, end: int | None) -> dict:
    """Epoch-ms timestamps and durations; 0 while unknown (the SDK docs: end_time "is set to 0 if the
    job is still running")."""
    return {"start_time": start, "setup_duration": running_ms - start if running_ms else 0,
            "execution_duration": end - running_ms if end and running_ms else 0, "cleanup_duration": 0,
            "end_time": end or 0}


def _state(life: str, result: str | None, message: str, by_user: bool) -> dict:
    out = {"life_cycle_state": life, "state_message": message, "user_cancelled_or_timedout": by_user}
    if result:
        out["result_state"] = result
    return out


def _status(life: str, termination: str | None, message: str) -> dict:
    if life not in TERMINAL:
        return {"state": life}
    code, kind = TERMINATION[termination or "SUCCESS"]
    return {"state": "TERMINATED", "termination_details": {"code": code, "type": kind, "message": message}}


def _page_url(run: Run, run_id: int) -> str:
    return f"{run.host}/?o={run.workspace_id}#job/{run.job_id}/run/{run_id}"


def _render_task(run: Run, t: TaskRun) -> dict:
    out = dict(t.settings)
    out.update(run_id=t.run_id, task_key=t.task_key, attempt_number=0, run_page_url=_page_url(run, t.run_id),
               state=_state(t.life_cycle_state, t.result_state, t.state_message, t.cancelled_or_timedout),
               status=_status(t.life_cycle_state, t.termination, t.state_message),
               **_times(t.start_time, t.running_ms, t.end_time))
    if t.end_time:
        out["run_duration"] = t.end_time - t.start_time
    return out


def _job_fields(run: Run, run_id: int) -> dict:
    return {"job_id": run.job_id, "run_id": run_id, "number_in_job": run_id, "original_attempt_run_id": run_id,
            "creator_user_name": fixtures.CLIENT_ID, "run_name": run.run_name, "run_type": "SUBMIT_RUN",
            "trigger": "ONE_TIME", "attempt_number": 0, "run_page_url": _page_url(run, run_id)}


def _overall(run: Run) -> tuple[str, str | None, str, bool, str | None]:
    """(life_cycle_state, result_state, state_message, user_cancelled_or_timedout, termination) of the run."""
    states = [t.life_cycle_state for t in run.tasks]
    if not all(s in TERMINAL for s in states):
        life = next((s for s in ("TERMINATING", "RUNNING") if s in states), "PENDING")
        return life, None, MESSAGES[life], False, None
    for outcome in ("INTERNAL_ERROR", "CANCELED", "TIMEDOUT", "FAILED"):
        hit = next((t for t in run.tasks if (t.termination == outcome if outcome == "INTERNAL_ERROR"
                                             else t.result_state == outcome)), None)
        if hit is not None:
            life = "INTERNAL_ERROR" if outcome == "INTERNAL_ERROR" else "TERMINATED"
            message = hit.state_message if outcome != "FAILED" else "Workload failed, see run output for details"
            return life, hit.result_state, message, hit.cancelled_or_timedout, hit.termination
    return "TERMINATED", "SUCCESS", "", False, "SUCCESS"


def render_run(run: Run) -> dict:
    life, result, message, by_user, termination = _overall(run)
    ends = [t.end_time for t in run.tasks]
    end = max(ends) if all(ends) else None
    started = [t.running_ms for t in run.tasks if t.running_ms]
    out = _job_fields(run, run.run_id)
    out.update(format="MULTI_TASK", state=_state(life, result, message, by_user),
               status=_status(life, termination, message), tasks=[_render_task(run, t) for t in run.tasks],
               **_times(run.start_time, min(started) if started else None, end))
    if end:
        out["run_duration"] = end - run.start_time
    if run.environments:
        out["environments"] = run.environments
    return out


def render_task_run(run: Run, t: TaskRun) -> dict:
    """A task run on its own (runs/get with a task run id, get-output's ``metadata``)."""
    out = _render_task(run, t)
    out.update(_job_fields(run, t.run_id))
    out["job_run_id"] = run.run_id
    return out


# --- routes ----------------------------------------------------------------------------------------------------

def _run_id(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise errors.invalid_parameter("Field 'run_id' is required and must be an integer.") from None


def _find(ctx: Ctx, raw) -> tuple[Run, TaskRun | None]:
    """(parent run, task run or None) of a run id of this workspace."""
    run_id = _run_id(raw)
    parent = ctx.model.runs.get(ctx.model.task_runs.get(run_id, run_id))
    if parent is None or parent.workspace_id != ctx.workspace.workspace_id:
        raise errors.invalid_parameter(f"Run {run_id} does not exist.")
    task = next((t for t in parent.tasks if t.run_id == run_id), None)
    return parent, task


def submit(ctx: Ctx):
    spec = _validated(ctx.body())
    wid = ctx.workspace.workspace_id
    if spec["token"] is not None and (wid, spec["token"]) in ctx.model.run_tokens:
        return {"run_id": ctx.model.run_tokens[(wid, spec["token"])]}
    now, now_ms = clock.now(), clock.now_ms()
    run = Run(next(_run_ids), next(_job_ids), wid, spec["run_name"], now_ms, ctx.base_url,
              environments=spec["environments"], timeout_seconds=spec["timeout_seconds"])
    for raw in spec["tasks"]:
        task = TaskRun(next(_run_ids), raw["task_key"], raw, now_ms, now,
                       timeout_seconds=raw.get("timeout_seconds") or spec["timeout_seconds"])
        run.tasks.append(task)
        ctx.model.task_runs[task.run_id] = run.run_id
    ctx.model.runs[run.run_id] = run
    if spec["token"] is not None:
        ctx.model.run_tokens[(wid, spec["token"])] = run.run_id
    return {"run_id": run.run_id}


def get(ctx: Ctx):
    run, task = _find(ctx, ctx.args.get("run_id"))
    return render_task_run(run, task) if task is not None else render_run(run)


def get_output(ctx: Ctx):
    run, task = _find(ctx, ctx.args.get("run_id"))
    if task is None:
        raise errors.invalid_parameter(
            "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of "
            "each individual task run instead.")
    out = {"metadata": render_task_run(run, task)}
    if task.life_cycle_state in TERMINAL:
        logs = task.logs or ""
        out.update(logs=logs[-MAX_LOGS:], logs_truncated=len(logs) > MAX_LOGS)
    if task.error is not None:
        out["error"] = task.error
    if task.error_trace is not None:
        out["error_trace"] = task.error_trace
    return out


def cancel(ctx: Ctx):
    body = ctx.body()
    run, task = _find(ctx, body.get("run_id"))
    for t in [task] if task is not None else run.tasks:
        if t.life_cycle_state not in TERMINAL:
            t.life_cycle_state = "TERMINATING"
            t.state_message = MESSAGES["TERMINATING"]
    return {}


# --- the life cycle (ticker) -----------------------------------------------------------------------------------

def _finish(t: TaskRun, result: str | None, message: str, termination: str, *, life: str = "TERMINATED",
            by_user: bool = False) -> None:
    t.life_cycle_state, t.result_state, t.state_message = life, result, message
    t.termination, t.cancelled_or_timedout = termination, by_user
    t.end_time = clock.now_ms()
    if t.running_ms is None and life == "TERMINATED" and termination != "CANCELED":
        t.running_ms = t.end_time


def _elapsed(since: float, seconds: float) -> bool:
    return clock.now() - since >= clock.scaled(seconds)


def _start(model, run: Run, t: TaskRun) -> None:
    """PENDING -> RUNNING once serverless compute is up, if there is a file to run."""
    path = t.python_file
    if path.startswith("/Workspace/"):  # the same file through the /Workspace mount
        path = path[len("/Workspace"):]
    found = workspace_files.lookup(model, run.workspace_id, path)
    if found is None or found.object_type != "FILE":
        what = "does not exist" if found is None else f"is a {found.object_type.lower()}, not a file"
        t.error = f"FileNotFoundError: [Errno 2] No such file or directory: '{t.python_file}'"
        _finish(t, "FAILED", f"The python file {t.python_file} {what}.", "NOT_FOUND")
        return
    t.life_cycle_state, t.state_message = "RUNNING", MESSAGES["RUNNING"]
    t.running_since, t.running_ms = clock.now(), clock.now_ms()


def _step(model, run: Run, t: TaskRun, d) -> dict | None:
    """Local transitions of one task (model lock held); the work item of a task whose execution is
    over and needs the world judged, else None."""
    if t.life_cycle_state == "TERMINATING":
        _finish(t, "CANCELED", "Run cancelled.", "CANCELED", by_user=True)
    elif t.life_cycle_state == "PENDING" and _elapsed(t.pending_since, d.job_run_pending):
        _start(model, run, t)
    elif t.life_cycle_state == "RUNNING":
        if t.timeout_seconds and t.timeout_seconds < d.job_run:
            if _elapsed(t.running_since, t.timeout_seconds):
                _finish(t, "TIMEDOUT", f"Timed out after {t.timeout_seconds} seconds.", "TIMEDOUT", by_user=True)
        elif _elapsed(t.running_since, d.job_run):
            try:
                dests = verify.parse(t.settings["spark_python_task"].get("parameters"))
            except verify.TaskFailure as exc:
                t.error, t.error_trace, t.logs = f"ValueError: {exc.message}", exc.trace, ""
                _finish(t, "FAILED", f"ValueError: {exc.message}", "FAILED")
                return None
            ws = model.workspaces[run.workspace_id]
            return {"run_id": run.run_id, "task_run_id": t.run_id, "dests": dests,
                    "snapshot": verify.snapshot(model, ws)}
    return None


def advance(model) -> None:
    """One tick of every non-terminal run: local transitions under the model lock, the world's
    judgement (AWS bridge) without it, the results under it again (discarded after a reset or when
    the task was cancelled meanwhile)."""
    d = settings.delays()
    with model.lock:
        gen = model.generation
        work = [item for run in list(model.runs.values()) for t in run.tasks
                if t.life_cycle_state not in TERMINAL and (item := _step(model, run, t, d)) is not None]
    results = []
    for item in work:
        try:
            results.append((item, verify.gather(item["snapshot"], item["dests"]), None))
        except Exception as exc:  # the AWS side failed (BridgeUnavailable included): the platform's error
            results.append((item, None, f"{type(exc).__name__}: {exc}"))
    if not results:
        return
    with model.lock:
        if model.generation != gen:
            return
        for item, facts, failure in results:
            run = model.runs.get(item["run_id"])
            t = next((x for x in run.tasks if x.run_id == item["task_run_id"]), None) if run else None
            if t is None or t.life_cycle_state != "RUNNING":
                continue
            if failure is not None:
                _finish(t, "FAILED", f"Internal error: {failure}", "INTERNAL_ERROR", life="INTERNAL_ERROR")
                continue
            now = iso(dt.datetime.now(dt.timezone.utc))
            lines = verify.report(model, model.workspaces[run.workspace_id], item["dests"], facts, now)
            t.logs = verify.stdout(lines)
            _finish(t, "SUCCESS", "", "SUCCESS")
