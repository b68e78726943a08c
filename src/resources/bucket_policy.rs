//! plink's statement in the policy of each bucket of an `s3-native` rule: it allows the rule's
//! Databricks endpoint (`aws:SourceVpce`), without which the rule never reaches `ESTABLISHED`
//! (field update §1.4).
//!
//! A bucket policy belongs to its bucket's owners, not to plink: plink reads it, adds or
//! rewrites only the statement whose `Sid` names the deployment, and writes it back, keeping
//! every other statement as it was and where it was; on `down` (or when a bucket leaves the
//! list) it removes only that statement, deleting the policy when nothing else is left. With
//! `bucket_policy = "print"` another team owns the policies: plink prints the exact statement and
//! waits until it is there, showing how long the rule has before it expires.
//!
//! The statement never allows principal `*`: it allows the AWS account plink runs as (the
//! buckets' owner in the usual setup; its identities still need their own IAM permissions), and
//! only through the rule's endpoint.
//!
//! S3 has no conditional write for bucket policies: plink reads each policy right before it
//! writes it back, so the window in which another writer's change could be lost is one request
//! long (the same as for the AWS console or CLI).

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::generic::plan_lines;
use super::rule::pending_text;
use super::{Cx, Env, Found, Observation, Res, Resource, Teardown, TeardownAction, errors};
use crate::aws::ErrorKind;
use crate::engine::{Planned, Poll, StepError};
use crate::state::Intent;

/// What the statement allows: the object and listing calls serverless workloads make.
const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
];

/// Who writes the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyMode {
    Manage,
    Print,
}

/// plink's statement in each bucket's policy.
pub struct BucketPolicies {
    /// The statement's `Sid` (names the deployment).
    pub sid: String,
    pub buckets: Vec<String>,
    pub mode: PolicyMode,
    /// How long `up` waits for another team to add the statement (`print`).
    pub timeout: Duration,
}

/// What upstream decides: the rule's endpoint, and the rule (for its countdown).
pub struct BucketPolicyInputs {
    pub vpc_endpoint_id: String,
    pub ncc_id: String,
    pub rule_id: String,
}

/// What the state keeps: the buckets whose policy holds plink's statement for that endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketPolicyRecord {
    pub sid: String,
    pub vpc_endpoint_id: String,
    pub buckets: Vec<String>,
}

/// What teardown records (under `down_bucket_policy`): the buckets plink's statement was
/// removed from, and among them those whose policy was deleted (the statement was all it held).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketPolicyDown {
    pub cleaned: Vec<String>,
    pub deleted: Vec<String>,
}

/// Where plink's statement stands in one bucket's policy.
#[derive(Debug, Clone, PartialEq)]
enum Standing {
    Present,
    Missing,
    Differs,
}

impl Standing {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Missing => "missing",
            Self::Differs => "differs",
        }
    }
}

/// A policy document, its statements as a list (a single statement object is read as a list
/// of one; every other key, `Id` included, is kept).
struct Policy(Value);

impl Policy {
    fn parse(bucket: &str, text: Option<&str>) -> Res<Self> {
        let Some(text) = text else {
            return Ok(Self(json!({ "Version": "2012-10-17", "Statement": [] })));
        };
        let mut doc: Value = serde_json::from_str(text).map_err(|e| {
            StepError::needs_user(
                format!("the policy of bucket {bucket} is not valid JSON: {e}"),
                "fix the bucket policy; plink never overwrites a policy it cannot read",
            )
        })?;
        let statements = match doc.get_mut("Statement").map(Value::take) {
            Some(Value::Array(list)) => list,
            Some(one @ Value::Object(_)) => vec![one],
            _ => Vec::new(),
        };
        doc["Statement"] = Value::Array(statements);
        Ok(Self(doc))
    }

    fn statements(&mut self) -> &mut Vec<Value> {
        match &mut self.0["Statement"] {
            Value::Array(list) => list,
            _ => unreachable!("parse makes Statement a list"),
        }
    }

    fn find(&mut self, sid: &str) -> Option<usize> {
        self.statements()
            .iter()
            .position(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
    }

    /// How many statements it holds (none: `down` deletes the policy rather than write it).
    fn len(&self) -> usize {
        self.0["Statement"].as_array().map_or(0, Vec::len)
    }

    fn text(&self) -> String {
        self.0.to_string()
    }
}

/// `value` (a string or a list of strings) as a set.
fn set(value: Option<&Value>) -> BTreeSet<String> {
    match value {
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Whether `found` grants what `wanted` does (S3 may store lists as single strings and reorder
/// them).
fn same(found: &Value, wanted: &Value) -> bool {
    let key = |v: &Value, k: &str| set(v.get(k));
    let vpce = |v: &Value| set(v.pointer("/Condition/StringEquals/aws:SourceVpce"));
    found.get("Effect") == wanted.get("Effect")
        && found.get("Principal") == wanted.get("Principal")
        && key(found, "Action") == key(wanted, "Action")
        && key(found, "Resource") == key(wanted, "Resource")
        && vpce(found) == vpce(wanted)
        && found
            .get("Condition")
            .and_then(Value::as_object)
            .map(|c| c.len())
            == Some(1)
}

impl BucketPolicies {
    /// The statement for `bucket`, allowing the account that owns it through `vpce`.
    fn statement(&self, env: &Env, bucket: &str, vpce: &str) -> Value {
        let partition = if env.region().starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{partition}:iam::{}:root", env.aws.account_id) },
            "Action": ACTIONS,
            "Resource": [
                format!("arn:{partition}:s3:::{bucket}"),
                format!("arn:{partition}:s3:::{bucket}/*"),
            ],
            "Condition": { "StringEquals": { "aws:SourceVpce": vpce } },
        })
    }

    async fn read(env: &Env, bucket: &str) -> Res<Policy> {
        let text = env
            .aws
            .bucket_policy(bucket)
            .await
            .map_err(|e| errors::aws(&format!("reading the policy of bucket {bucket}"), e))?;
        Policy::parse(bucket, text.as_deref())
    }

    /// `bucket`'s policy, and where plink's statement stands in it.
    async fn standing(&self, env: &Env, bucket: &str, vpce: &str) -> Res<(Policy, Standing)> {
        let mut policy = Self::read(env, bucket).await?;
        let wanted = self.statement(env, bucket, vpce);
        let standing = match policy.find(&self.sid) {
            None => Standing::Missing,
            Some(i) if same(&policy.statements()[i], &wanted) => Standing::Present,
            Some(_) => Standing::Differs,
        };
        Ok((policy, standing))
    }

    /// Writes `policy` (just read) back with plink's statement added or rewritten in place;
    /// every other statement stays as it is.
    async fn put(&self, cx: &Cx<'_>, bucket: &str, vpce: &str, mut policy: Policy) -> Res<()> {
        let wanted = self.statement(cx.env, bucket, vpce);
        match policy.find(&self.sid) {
            Some(i) => policy.statements()[i] = wanted,
            None => policy.statements().push(wanted),
        }
        cx.begin(
            Intent::new("put_bucket_policy")
                .key("bucket", bucket)
                .key("sid", &self.sid),
        )?;
        cx.env
            .aws
            .put_bucket_policy(bucket, &policy.text())
            .await
            .map_err(|e| errors::aws(&format!("writing the policy of bucket {bucket}"), e))
    }

    /// `bucket`'s policy without plink's statement, read now (`None`: no statement of plink's,
    /// or no bucket any more). The one lookup of `down` and of its plan.
    async fn removal(&self, env: &Env, bucket: &str) -> Res<Option<Policy>> {
        let text = match env.aws.bucket_policy(bucket).await {
            Ok(text) => text,
            // The bucket itself is gone: so is the statement.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(errors::aws(
                    &format!("reading the policy of bucket {bucket}"),
                    e,
                ));
            }
        };
        let mut policy = Policy::parse(bucket, text.as_deref())?;
        let Some(i) = policy.find(&self.sid) else {
            return Ok(None);
        };
        policy.statements().remove(i);
        Ok(Some(policy))
    }

    /// Removes plink's statement (the policy itself when nothing else is left). Says what it
    /// did: `None` when there was no statement, else whether it deleted the policy.
    async fn remove(&self, cx: &Cx<'_>, bucket: &str) -> Res<Option<bool>> {
        let Some(policy) = self.removal(cx.env, bucket).await? else {
            return Ok(None);
        };
        cx.begin(
            Intent::new("remove_bucket_policy_statement")
                .key("bucket", bucket)
                .key("sid", &self.sid),
        )?;
        let aws = &cx.env.aws;
        let deletes = policy.len() == 0;
        let result = if deletes {
            aws.delete_bucket_policy(bucket).await
        } else {
            aws.put_bucket_policy(bucket, &policy.text()).await
        };
        result
            .map(|()| Some(deletes))
            .map_err(|e| errors::aws(&format!("writing the policy of bucket {bucket}"), e))
    }

    /// `print`: shows the statement once and waits until another team added it.
    async fn wait_added(&self, cx: &Cx<'_>, inputs: &BucketPolicyInputs, bucket: &str) -> Res<()> {
        let vpce = &inputs.vpc_endpoint_id;
        let statement = self.statement(cx.env, bucket, vpce);
        cx.note(format!(
            "bucket_policy = \"print\": add this statement to the policy of bucket {bucket} \
             (plink waits for it):\n{}",
            serde_json::to_string_pretty(&statement).unwrap_or_default()
        ));
        let policy = cx.env.wait(10, 60, self.timeout);
        cx.step
            .wait_for(
                &format!("statement {} in the policy of bucket {bucket}", self.sid),
                &policy,
                || async {
                    if self.standing(cx.env, bucket, vpce).await?.1 == Standing::Present {
                        return Ok(Poll::Ready(()));
                    }
                    let rule = cx
                        .env
                        .databricks
                        .get_rule(&inputs.ncc_id, &inputs.rule_id)
                        .await
                        .map_err(|e| errors::databricks("reading the rule", e))?;
                    Ok(Poll::Pending(format!(
                        "not there yet; rule {}",
                        pending_text(&rule)
                    )))
                },
            )
            .await
    }

    /// The buckets plink's statement may be in: recorded, wanted, or named by an intent whose
    /// answer was lost.
    fn candidates(&self, cx: &Cx<'_>) -> Vec<String> {
        let rec: BucketPolicyRecord = cx.recorded();
        let mut all = rec.buckets;
        all.extend(self.buckets.iter().cloned());
        all.extend(
            cx.pending_intent()
                .and_then(|i| i.natural_key.get("bucket").cloned()),
        );
        let mut seen = BTreeSet::new();
        all.retain(|b| seen.insert(b.clone()));
        all
    }
}

#[async_trait]
impl Resource for BucketPolicies {
    type Inputs = BucketPolicyInputs;
    type Live = ();
    type Record = BucketPolicyRecord;
    type Fix = ();

    const NOUN: &'static str = "bucket policy";

    fn describe(&self) -> String {
        match self.mode {
            PolicyMode::Manage => "allow the rule's endpoint in each bucket's policy".into(),
            PolicyMode::Print => {
                "wait for each bucket's policy to allow the rule's endpoint (printed)".into()
            }
        }
    }

    fn label(&self, _: &()) -> String {
        self.buckets.join(", ")
    }

    async fn find(&self, _: &Cx<'_>, _: &Self::Inputs) -> Res<Found<()>> {
        Ok(Found::Recorded(()))
    }

    async fn create(&self, _: &Cx<'_>, _: &Self::Inputs) -> Res<Option<()>> {
        Ok(Some(()))
    }

    /// Each listed bucket gets the statement (or, printed, is waited for); each bucket no longer
    /// listed loses it. Recorded after each bucket.
    async fn converge(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<()> {
        let vpce = &inputs.vpc_endpoint_id;
        let rec: BucketPolicyRecord = cx.recorded();
        let mut out = BucketPolicyRecord {
            sid: self.sid.clone(),
            vpc_endpoint_id: vpce.clone(),
            // Buckets no longer listed keep their entry until their statement is removed.
            buckets: rec
                .buckets
                .iter()
                .filter(|b| !self.buckets.contains(b))
                .cloned()
                .collect(),
        };
        for bucket in &self.buckets {
            match (self.mode, self.standing(cx.env, bucket, vpce).await?) {
                (_, (_, Standing::Present)) => {}
                (PolicyMode::Manage, (policy, _)) => self.put(cx, bucket, vpce, policy).await?,
                (PolicyMode::Print, _) => self.wait_added(cx, inputs, bucket).await?,
            }
            out.buckets.push(bucket.clone());
            cx.step.record(&out)?;
        }
        for gone in rec.buckets.iter().filter(|b| !self.buckets.contains(b)) {
            match self.mode {
                PolicyMode::Manage => {
                    if self.remove(cx, gone).await?.is_some() {
                        cx.note(format!(
                            "bucket {gone} is no longer listed: removed plink's statement {}",
                            self.sid
                        ));
                    }
                }
                PolicyMode::Print => cx.note(format!(
                    "bucket {gone} is no longer listed: remove statement {} from its policy",
                    self.sid
                )),
            }
            out.buckets.retain(|b| b != gone);
            cx.step.record(&out)?;
        }
        cx.step.record(&out)
    }

    /// One line per bucket; a wait (a printed statement not there yet) outranks a change.
    async fn plan(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Planned> {
        let vpce = &inputs.vpc_endpoint_id;
        let rec: BucketPolicyRecord = cx.recorded();
        let mut lines = Vec::new();
        for bucket in &self.buckets {
            let (_, standing) = self.standing(cx.env, bucket, vpce).await?;
            lines.push(match (self.mode, standing) {
                (_, Standing::Present) => {
                    Planned::no_change(format!("bucket {bucket}: statement {} present", self.sid))
                }
                (PolicyMode::Manage, s) => Planned::update(format!(
                    "bucket {bucket}: statement {} {}: up writes it (aws:SourceVpce {vpce}), keeping the policy's other statements",
                    self.sid,
                    s.as_str()
                )),
                (PolicyMode::Print, s) => Planned::wait(format!(
                    "bucket {bucket}: statement {} {}: up prints it and waits for it to be added",
                    self.sid,
                    s.as_str()
                )),
            });
        }
        for gone in rec.buckets.iter().filter(|b| !self.buckets.contains(b)) {
            lines.push(Planned::update(format!(
                "bucket {gone} is no longer listed: up removes statement {}",
                self.sid
            )));
        }
        Ok(plan_lines(lines))
    }

    async fn record(&self, cx: &Cx<'_>, _: &Self::Inputs, _: &()) -> Res<Self::Record> {
        Ok(cx.recorded())
    }

    /// Where plink's statement stands in each listed bucket's policy.
    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let vpce = inputs
            .map(|i| i.vpc_endpoint_id.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| rec.vpc_endpoint_id.clone());
        let mut views = Vec::new();
        for bucket in &self.buckets {
            match self.standing(env, bucket, &vpce).await {
                Ok((_, s)) => {
                    o.line(
                        "bucket policy",
                        format!("{bucket}: statement {} {}", self.sid, s.as_str()),
                    );
                    views.push(json!({ "bucket": bucket, "statement": s.as_str() }));
                }
                Err(e) => o.error(&format!("bucket {bucket}"), e),
            }
        }
        o.set("bucket_policies", views);
        o
    }

    /// What `down` would do to each bucket's policy ([`removal`](Self::removal)): delete it
    /// when plink's statement is all it holds, else take the statement out (`update`); with
    /// `print`, leave it for its owners to remove (`release`).
    async fn teardown_plan(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Teardown>> {
        let mut out = Vec::new();
        for bucket in self.candidates(cx) {
            let sid = &self.sid;
            if self.mode == PolicyMode::Print {
                out.push(Teardown::new(
                    TeardownAction::Release,
                    &bucket,
                    format!(
                        "the policy of bucket {bucket}: bucket_policy = \"print\", so down leaves \
                         statement {sid} for its owners to remove"
                    ),
                ));
                continue;
            }
            let Some(policy) = self.removal(cx.env, &bucket).await? else {
                continue;
            };
            out.push(if policy.len() == 0 {
                Teardown::new(
                    TeardownAction::Delete,
                    &bucket,
                    format!(
                        "the policy of bucket {bucket}: statement {sid} is all it holds, so down deletes the policy"
                    ),
                )
            } else {
                Teardown::new(
                    TeardownAction::Update,
                    &bucket,
                    format!(
                        "the policy of bucket {bucket}: down removes statement {sid} and writes back its {} other statement(s) as they are",
                        policy.len()
                    ),
                )
            });
        }
        Ok(out)
    }

    /// Removes plink's statement from every bucket it may be in (`print`: says what to remove).
    async fn teardown(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<()> {
        let mut out = cx.step.recorded::<BucketPolicyDown>().unwrap_or_default();
        for bucket in self.candidates(cx) {
            if self.mode == PolicyMode::Print {
                cx.note(format!(
                    "bucket_policy = \"print\": remove statement {} from the policy of bucket {bucket}",
                    self.sid
                ));
                continue;
            }
            let Some(deleted) = self.remove(cx, &bucket).await? else {
                continue;
            };
            if !out.cleaned.contains(&bucket) {
                out.cleaned.push(bucket.clone());
            }
            if deleted && !out.deleted.contains(&bucket) {
                out.deleted.push(bucket);
            }
            cx.step.record(&out)?;
        }
        Ok(())
    }
}
