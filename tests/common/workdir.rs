//! A temporary working directory holding a workflow file and plink's state
//! (`.plink/<deployment>/`, or on the stack's S3 after [`Workdir::on_s3`]): either an edited copy
//! of the demo workflow (`workflows/s3-privatelink.toml`, rendered from a [`WorkflowSpec`]) or the
//! demo file itself, verbatim; the demo's policy file next to it; a private `HOME`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::s3_state::S3State;

/// A workflow kind, by its example file in `workflows/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    S3PrivateLink,
    NlbService,
    S3Native,
    /// `network-policy`, from its egress example.
    NetworkPolicy,
    IpAccessLists,
}

impl Kind {
    /// Every kind the suites run on.
    pub const ALL: [Kind; 5] = [
        Kind::S3PrivateLink,
        Kind::NlbService,
        Kind::S3Native,
        Kind::NetworkPolicy,
        Kind::IpAccessLists,
    ];

    /// The kind's name (its example is `workflows/<name>.toml`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::S3PrivateLink => "s3-privatelink",
            Kind::NlbService => "nlb-service",
            Kind::S3Native => "s3-native",
            Kind::NetworkPolicy => "network-policy",
            Kind::IpAccessLists => "ip-access-lists",
        }
    }

    /// The text of the kind's example (`workflows/<name>.toml`; the egress one for policies).
    pub fn example(self) -> String {
        match self {
            Kind::NetworkPolicy => repo_file("workflows/network-policy-egress.toml"),
            _ => repo_file(&format!("workflows/{}.toml", self.name())),
        }
    }

    /// Whether the kind has an NCC (and AWS resources): the policy and IP list kinds have not.
    pub fn has_ncc(self) -> bool {
        !matches!(self, Kind::NetworkPolicy | Kind::IpAccessLists)
    }
}

/// Edits applied to a kind's example workflow (`workflows/<kind>.toml`; the default is the demo,
/// `s3-privatelink`).
#[derive(Debug, Clone)]
pub struct WorkflowSpec {
    pub kind: Kind,
    pub deployment: String,
    pub region: String,
    pub workspace_ids: Vec<i64>,
    /// `aws.subnets = { tags = { K = V } }`.
    pub subnets_tag: (String, String),
    /// `databricks.domain_names`; `None` keeps the default (the endpoint's DNS name).
    pub domain_names: Option<Vec<String>>,
    pub ncc_name: String,
}

impl Default for WorkflowSpec {
    fn default() -> Self {
        Self {
            kind: Kind::S3PrivateLink,
            deployment: "demo-s3".into(),
            region: "us-east-1".into(),
            workspace_ids: vec![1111111111111111],
            subnets_tag: ("plink-demo".into(), "private".into()),
            domain_names: None,
            ncc_name: "plink-demo-ncc".into(),
        }
    }
}

impl WorkflowSpec {
    /// The example of `kind` as it is (its deployment, NCC and workspaces).
    pub fn of(kind: Kind) -> Self {
        let doc: toml::Table = toml::from_str(&kind.example()).expect("the example parses");
        let db = &doc["databricks"];
        Self {
            kind,
            deployment: doc["deployment"]["name"].as_str().unwrap().to_owned(),
            region: doc
                .get("aws")
                .map_or("us-east-1", |aws| aws["region"].as_str().unwrap())
                .to_owned(),
            workspace_ids: db["workspace_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(toml::Value::as_integer)
                .collect(),
            ncc_name: db
                .get("ncc")
                .map_or("", |ncc| ncc["name"].as_str().unwrap())
                .to_owned(),
            ..Self::default()
        }
    }

    /// The buckets of an `s3-native` spec (none for other kinds).
    pub fn buckets(&self) -> Vec<String> {
        let doc: toml::Table = toml::from_str(&self.kind.example()).expect("the example parses");
        doc.get("s3")
            .and_then(|s| s["buckets"].as_array())
            .map(|b| {
                b.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The demo workflow moved to `region` (its VPC fixture exists there too) and `workspaces`.
    pub fn in_region(region: &str, workspaces: &[i64]) -> Self {
        Self {
            region: region.into(),
            workspace_ids: workspaces.to_vec(),
            ..Self::default()
        }
    }

    /// The TOML text of the edited example workflow.
    pub fn render(&self) -> String {
        if !self.kind.has_ncc() {
            // No region, subnets or NCC to edit: the example as it is.
            return self.kind.example();
        }
        let demo = self.kind.example();
        let mut doc: toml::Table = toml::from_str(&demo).expect("the demo workflow parses");
        let table = |doc: &mut toml::Table, name: &str| -> toml::Table {
            doc.get(name)
                .and_then(|v| v.as_table())
                .cloned()
                .unwrap_or_default()
        };
        let mut deployment = table(&mut doc, "deployment");
        deployment.insert("name".into(), self.deployment.clone().into());
        doc.insert("deployment".into(), deployment.into());

        let mut aws = table(&mut doc, "aws");
        aws.insert("region".into(), self.region.clone().into());
        // Only the kinds with a VPC take subnets.
        if aws.contains_key("subnets") {
            let mut tags = toml::Table::new();
            tags.insert(
                self.subnets_tag.0.clone(),
                self.subnets_tag.1.clone().into(),
            );
            let mut subnets = toml::Table::new();
            subnets.insert("tags".into(), tags.into());
            aws.insert("subnets".into(), subnets.into());
        }
        doc.insert("aws".into(), aws.into());

        let mut db = table(&mut doc, "databricks");
        db.insert(
            "workspace_ids".into(),
            toml::Value::Array(
                self.workspace_ids
                    .iter()
                    .map(|i| toml::Value::Integer(*i))
                    .collect(),
            ),
        );
        let mut ncc = toml::Table::new();
        ncc.insert("name".into(), self.ncc_name.clone().into());
        db.insert("ncc".into(), ncc.into());
        if let Some(names) = &self.domain_names {
            db.insert(
                "domain_names".into(),
                toml::Value::Array(names.iter().map(|n| n.clone().into()).collect()),
            );
        }
        doc.insert("databricks".into(), db.into());
        toml::to_string(&doc).expect("workflow serializes")
    }
}

/// A file of this repository.
pub fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A temporary working directory with a workflow file in it; plink runs there.
pub struct Workdir {
    dir: tempfile::TempDir,
    pub workflow: PathBuf,
    pub spec: WorkflowSpec,
    /// Where plink keeps the state when not in `.plink/` (`--state s3://…`).
    s3: Option<S3State>,
}

impl Workdir {
    /// A working directory holding `spec`'s workflow (as `workflow.toml`) and the demo's policy
    /// file next to it.
    pub fn new(spec: WorkflowSpec) -> Self {
        let text = spec.render();
        Self::with_workflow("workflow.toml", &text, spec)
    }

    /// A working directory holding the demo workflow verbatim (as `s3-privatelink.toml`: its
    /// text can be edited in place) and its policy file.
    pub fn demo() -> Self {
        let text = repo_file("workflows/s3-privatelink.toml");
        Self::with_workflow("s3-privatelink.toml", &text, WorkflowSpec::default())
    }

    /// A working directory holding `text` as the workflow file `name`; `spec` describes it.
    fn with_workflow(name: &str, text: &str, spec: WorkflowSpec) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("plink-e2e-work-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        std::fs::write(
            dir.path().join("s3-endpoint-policy.json"),
            repo_file("workflows/s3-endpoint-policy.json"),
        )
        .expect("policy file");
        let workflow = dir.path().join(name);
        std::fs::write(&workflow, text).expect("workflow file");
        Self {
            dir,
            workflow,
            spec,
            s3: None,
        }
    }

    /// The same directory with its state on S3: every command given the workflow file
    /// ([`Plink::workflow`](super::Plink::workflow), the suites' phases) is also given
    /// `--state <s3.url()>`, and [`state`](Self::state) reads the state object there.
    pub fn on_s3(mut self, s3: S3State) -> Self {
        self.s3 = Some(s3);
        self
    }

    /// Where plink keeps the state, when it is on S3.
    pub fn s3(&self) -> Option<&S3State> {
        self.s3.as_ref()
    }

    /// The arguments naming where the state is (`--state s3://…`), after the workflow file;
    /// none for the default `.plink/`.
    pub fn state_args(&self) -> Vec<String> {
        self.s3
            .iter()
            .flat_map(|s3| ["--state".to_owned(), s3.url()])
            .collect()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The private `HOME` of the plink runs in this directory.
    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// The workflow file's path as a string (an argument of plink).
    pub fn workflow_arg(&self) -> &str {
        self.workflow.to_str().expect("utf-8 path")
    }

    /// Writes another file into the working directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// The default state file: `.plink/<deployment>/state.json`. Panics when the state is on
    /// S3 (a local file would silently be absent): use [`state`](Self::state) there.
    pub fn state_path(&self) -> PathBuf {
        self.not_on_s3();
        self.path()
            .join(".plink")
            .join(&self.spec.deployment)
            .join("state.json")
    }

    /// The lock file next to the state (see [`state_path`](Self::state_path)).
    pub fn lock_path(&self) -> PathBuf {
        self.not_on_s3();
        self.path()
            .join(".plink")
            .join(&self.spec.deployment)
            .join("state.json.lock")
    }

    fn not_on_s3(&self) {
        if let Some(s3) = &self.s3 {
            panic!("the state of this directory is on S3 ({s3:?}), not in .plink/");
        }
    }

    /// Where the state is, for messages: its file, or its object's `s3://` URL.
    pub fn state_location(&self) -> String {
        match &self.s3 {
            Some(s3) => s3.object_url(&s3.state_key(&self.spec.deployment)),
            None => self.state_path().display().to_string(),
        }
    }

    /// The state's bytes, wherever plink keeps it (the file, or the object read on the stack's
    /// S3); `Ok(None)` when there is none yet.
    pub fn state_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        match &self.s3 {
            Some(s3) => s3.read(&s3.state_key(&self.spec.deployment)),
            None => match std::fs::read(self.state_path()) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("{}: {e}", self.state_path().display())),
            },
        }
    }

    /// The state as JSON, if it exists and parses (writes are atomic: renames, or single
    /// conditional PutObjects on S3).
    pub fn state(&self) -> Option<Value> {
        let bytes = self.state_bytes().ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// The state, which must exist.
    pub fn state_required(&self) -> Value {
        self.state()
            .unwrap_or_else(|| panic!("no state at {}", self.state_location()))
    }

    /// Overwrites the state file (as if edited by hand or left by another version).
    pub fn write_state(&self, state: &Value) {
        let dir = self
            .state_path()
            .parent()
            .expect("a state directory")
            .to_owned();
        std::fs::create_dir_all(dir).expect("the state directory");
        std::fs::write(
            self.state_path(),
            serde_json::to_vec_pretty(state).expect("state JSON"),
        )
        .expect("write the state file");
    }

    /// The record of `step` in the state, if any.
    pub fn step(&self, step: &str) -> Option<Value> {
        self.state().and_then(|s| s["steps"].get(step).cloned())
    }

    /// An output of `step` as a string.
    pub fn output(&self, step: &str, key: &str) -> Option<String> {
        self.step(step).and_then(|r| {
            r["outputs"]
                .get(key)
                .and_then(|v| v.as_str().map(str::to_owned))
        })
    }

    /// The action of `step`'s pending intent, if any.
    pub fn intent(&self, step: &str) -> Option<String> {
        self.step(step)
            .and_then(|r| r["intent"]["action"].as_str().map(str::to_owned))
    }

    /// The recorded status of `step` (`pending`, `running`, `done`, `failed`).
    pub fn status_of(&self, step: &str) -> Option<String> {
        self.step(step)
            .and_then(|r| r["status"].as_str().map(str::to_owned))
    }

    /// The state's serial (0 if none).
    pub fn serial(&self) -> u64 {
        self.state().and_then(|s| s["serial"].as_u64()).unwrap_or(0)
    }
}

/// `text` with `from` replaced by `to`, which must occur exactly once (edits of example workflows).
pub fn edit_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} once in:\n{text}");
    text.replace(from, to)
}

/// The 1-based line of the one line of `text` containing `needle` (where an error must point).
pub fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} on one line of:\n{text}");
    lines[0]
}

impl Workdir {
    /// A working directory for `deployment` (its state is `.plink/<deployment>/`) holding `text`
    /// as the workflow file `name`; returns it and the file's path. For the kinds whose files the
    /// spec does not render (account-wide ones): the spec only names the deployment.
    pub fn holding(deployment: &str, name: &str, text: &str) -> (Workdir, String) {
        let wd = Workdir::new(WorkflowSpec {
            deployment: deployment.into(),
            ..WorkflowSpec::default()
        });
        let wf = wd
            .write(name, text)
            .to_str()
            .expect("utf-8 path")
            .to_owned();
        (wd, wf)
    }
}
