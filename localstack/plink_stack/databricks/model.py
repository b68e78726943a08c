"""In-memory state of the Databricks emulator, guarded by one re-entrant lock.

Objects mirror the wire objects of databricks-api.md §2.1 (NCC), §3.1 (private endpoint rule), §4.2
(Workspace), §5 (network policies / workspace network option) and §6 (IP access lists,
workspace-conf). Fields prefixed ``_`` in the docstrings are emulator bookkeeping and never rendered.

All request handlers run with ``MODEL.lock`` held; the state-machine ticker takes it in short
sections and never holds it across a call into the AWS bridge.
"""
import itertools
import threading
import uuid
from dataclasses import dataclass, field

from .. import clock
from . import fixtures
from .system_tables import SystemTables


@dataclass
class Ncc:
    """NetworkConnectivityConfiguration (§2.1). ``settle_since``/``settle_reason``: when a dependency
    (rule or workspace binding) last went away, for the eventually consistent delete check (§2.5)."""

    id: str
    account_id: str
    name: str
    region: str
    creation_time: int
    updated_time: int
    seq: int
    settle_since: float | None = None
    settle_reason: str = ""


@dataclass
class Rule:
    """NccPrivateEndpointRule, AWS flavour (§3.1).

    Bookkeeping: ``state_since`` (clock.now() of the last transition), ``available_since`` (when the
    bridge first reported the connection ``available``), ``endpoint_owner``/``endpoint_live`` (a
    Databricks-side VPC endpoint exists in the AWS emulator and must be deleted eventually),
    ``retry_at`` (earliest retry after the bridge failed unexpectedly), ``pending_reason`` (why a
    PENDING S3 rule is not established yet, from the bridge; logged, never rendered).
    """

    id: str
    ncc_id: str
    account_id: str
    region: str
    endpoint_service: str
    domain_names: list | None
    resource_names: list | None
    creation_time: int
    updated_time: int
    seq: int
    connection_state: str = "CREATING"
    enabled: bool = False
    deactivated: bool = False
    deactivated_at: int | None = None
    vpc_endpoint_id: str | None = None
    error_message: str | None = None
    state_since: float = 0.0
    available_since: float | None = None
    endpoint_owner: str = ""
    endpoint_live: bool = False
    retry_at: float = 0.0
    pending_reason: str | None = None

    @property
    def first_party_s3(self) -> bool:
        return self.endpoint_service.endswith(".s3") and not self.endpoint_service.startswith("com.amazonaws.vpce.")


@dataclass
class Workspace:
    """Workspace (§4.2). ``provisioning_since``: set while an update is being applied (§4.1)."""

    workspace_id: int
    workspace_name: str
    deployment_name: str
    aws_region: str
    account_id: str
    creation_time: int
    credentials_id: str
    storage_configuration_id: str
    workspace_status: str = "RUNNING"
    workspace_status_message: str = "Workspace is running."
    network_connectivity_config_id: str | None = None
    network_policy_id: str = fixtures.DEFAULT_NETWORK_POLICY_ID
    custom_tags: dict = field(default_factory=dict)
    provisioning_since: float | None = None


@dataclass
class NetworkPolicy:
    """AccountNetworkPolicy (§5.1); ``body`` is the validated policy minus ids."""

    id: str
    account_id: str
    body: dict
    seq: int


@dataclass
class IpAccessList:
    """IpAccessListInfo (§6.1)."""

    list_id: str
    label: str
    list_type: str
    ip_addresses: list
    enabled: bool
    created_at: int
    created_by: int
    updated_at: int
    updated_by: int
    seq: int


@dataclass
class EndpointDeletion:
    """A Databricks-side VPC endpoint the ticker must delete through the bridge."""

    region: str
    owner_account: str
    vpc_endpoint_id: str


class Model:
    def __init__(self):
        self.lock = threading.RLock()
        self.generation = 0
        self._seq = itertools.count(1)
        self._wipe()

    def _wipe(self) -> None:
        self.nccs: dict[str, Ncc] = {}
        self.rules: dict[str, Rule] = {}
        self.workspaces: dict[int, Workspace] = {}
        self.policies: dict[str, NetworkPolicy] = {}
        # IP access lists per scope: ("workspace", id) or ("account", account_id)
        self.ip_lists: dict[tuple, dict[str, IpAccessList]] = {}
        self.workspace_conf: dict[int, dict[str, str]] = {}
        self.endpoint_deletions: list[EndpointDeletion] = []
        # system.access.outbound_network / inbound_network (SQLite) and executed statements (statements.py)
        self.system_tables = SystemTables()
        self.statements: dict[str, dict] = {}
        # workspace objects per workspace, seeded on first use (workspace_files.py)
        self.workspace_objects: dict[int, dict] = {}
        # one-time runs (jobs.py): parent runs by run_id, task run id -> parent run id,
        # (workspace_id, idempotency_token) -> run_id
        self.runs: dict[int, object] = {}
        self.task_runs: dict[int, int] = {}
        self.run_tokens: dict[tuple, int] = {}

    def next_seq(self) -> int:
        return next(self._seq)

    def reset(self) -> None:
        """Wipe everything and re-seed from fixtures; bumps ``generation`` so in-flight ticker work
        started before the reset is discarded."""
        with self.lock:
            self.generation += 1
            self._wipe()
            for w in fixtures.WORKSPACES:
                self.add_workspace(w["workspace_id"], w["workspace_name"], w["deployment_name"], w["aws_region"])
            self.policies[fixtures.DEFAULT_NETWORK_POLICY_ID] = NetworkPolicy(
                id=fixtures.DEFAULT_NETWORK_POLICY_ID,
                account_id=fixtures.ACCOUNT_ID,
                body={"egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}}},
                seq=self.next_seq(),
            )

    def add_workspace(self, workspace_id: int, name: str, deployment_name: str, region: str) -> Workspace:
        """A workspace of the seeded account, RUNNING, bound to no NCC (the seed's, and the extra
        ones of ``POST /_plink/workspaces``)."""
        ws = Workspace(
            workspace_id=workspace_id,
            workspace_name=name,
            deployment_name=deployment_name,
            aws_region=region,
            account_id=fixtures.ACCOUNT_ID,
            creation_time=fixtures.SEED_TIME_MS,
            credentials_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"plink-creds-{workspace_id}")),
            storage_configuration_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"plink-storage-{workspace_id}")),
        )
        self.workspaces[workspace_id] = ws
        self.workspace_conf[workspace_id] = {}
        return ws

    # --- small queries shared by several modules ----------------------------------------------------

    def rules_of(self, ncc_id: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.ncc_id == ncc_id]

    def workspaces_bound_to(self, ncc_id: str) -> list[Workspace]:
        return [w for w in self.workspaces.values() if w.network_connectivity_config_id == ncc_id]


def new_id() -> str:
    return str(uuid.uuid4())


def now_ms() -> int:
    return clock.now_ms()


MODEL = Model()
MODEL.reset()
