//! The policy's JSON body, and the part of it plink owns.
//!
//! `PUT` replaces the whole policy and the server fills fields in (`ingress.private_access`,
//! `cross_workspace_access`, `account_id`, `internet_destination_type`; field update §0 items
//! 4–5, SRA PRs #243/#249). So plink never builds a body from its config alone: it reads the
//! policy, sets only the fields the workflow file sets ([`Owned`]), writes the whole object back,
//! and compares only those fields — a field another tool or the console edits is never drift,
//! and is never lost.

use serde_json::{Map, Value};

/// One field of the policy the workflow file sets, at a path of object keys
/// (`egress.network_access.allowed_internet_destinations`).
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub path: Vec<&'static str>,
    /// `None`: plink makes sure the field is absent (the `public_access` of the ingress section
    /// the file's enforcement does not use).
    pub value: Option<Value>,
    /// How `plan` names it (`egress allowed domains`).
    pub label: &'static str,
}

impl Owned {
    pub fn set(path: &[&'static str], label: &'static str, value: Value) -> Self {
        Self {
            path: path.to_vec(),
            value: Some(value),
            label,
        }
    }

    pub fn absent(path: &[&'static str], label: &'static str) -> Self {
        Self {
            path: path.to_vec(),
            value: None,
            label,
        }
    }

    /// The field in `body`, normalized for comparison.
    pub fn live(&self, body: &Value) -> Value {
        normalize(get(body, &self.path).cloned().unwrap_or(Value::Null))
    }

    /// The value the file wants, normalized for comparison.
    pub fn desired(&self) -> Value {
        normalize(self.value.clone().unwrap_or(Value::Null))
    }
}

/// `body` with every owned field set (or removed), everything else as it was.
pub fn merge(body: &Value, owned: &[Owned]) -> Value {
    let mut out = body.clone();
    if !out.is_object() {
        out = Value::Object(Map::new());
    }
    for o in owned {
        set(&mut out, &o.path, o.value.clone());
    }
    out
}

/// The owned fields whose live value differs from the file's.
pub fn differences<'a>(body: &Value, owned: &'a [Owned]) -> Vec<&'a Owned> {
    owned
        .iter()
        .filter(|o| o.live(body) != o.desired())
        .collect()
}

/// What `plan` says of one differing field: `egress allowed domains: adds b.com, removes c.com`
/// for lists (an entry whose name stays but whose content changes: `changes office`), the keys
/// that differ for objects, `X → Y` otherwise.
pub fn describe(o: &Owned, body: &Value) -> String {
    let live = get(body, &o.path).cloned().unwrap_or(Value::Null);
    let want = o.value.clone().unwrap_or(Value::Null);
    format!("{}: {}", o.label, difference(&live, &want))
}

/// The difference of two values as written (compared normalized: the server's defaults and
/// list order are no difference).
fn difference(live: &Value, want: &Value) -> String {
    let same = |a: &Value, b: &Value| normalize(a.clone()) == normalize(b.clone());
    match (live, want) {
        (Value::Array(_) | Value::Null, Value::Array(_)) | (Value::Array(_), Value::Null) => {
            let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
            let (l, w) = (items(live), items(want));
            let names = |from: &[Value], other: &[Value]| -> Vec<String> {
                from.iter()
                    .filter(|x| !other.iter().any(|y| same(x, y)))
                    .map(short)
                    .collect()
            };
            let (added, removed) = (names(&w, &l), names(&l, &w));
            let changed: Vec<String> = added
                .iter()
                .filter(|a| removed.contains(a))
                .cloned()
                .collect();
            let mut parts = Vec::new();
            for (verb, list) in [("adds", &added), ("removes", &removed)] {
                let only: Vec<&str> = list
                    .iter()
                    .filter(|x| !changed.contains(x))
                    .map(String::as_str)
                    .collect();
                if !only.is_empty() {
                    parts.push(format!("{verb} {}", only.join(", ")));
                }
            }
            if !changed.is_empty() {
                parts.push(format!("changes {}", changed.join(", ")));
            }
            parts.join(", ")
        }
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter_map(|k| {
                    let (x, y) = (
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    );
                    (!same(x, y)).then(|| format!("{k} {}", difference(x, y)))
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => format!("{} → {}", short(live), short(want)),
    }
}

/// A value in one short phrase: the destination, the bucket, the mode, or compact JSON.
fn short(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            for key in [
                "destination",
                "bucket_name",
                "restriction_mode",
                "enforcement_mode",
                "label",
            ] {
                if let Some(Value::String(s)) = m.get(key) {
                    return s.clone();
                }
            }
            v.to_string()
        }
        other => other.to_string(),
    }
}

/// Destinations counted against the policy's limit (reference §5.1): every internet and storage
/// destination, and each workspace id of `allowed_databricks_destinations`.
pub fn destination_count(body: &Value) -> usize {
    let access = get(body, &["egress", "network_access"]);
    let list = |key: &str| {
        access
            .and_then(|a| a.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let workspaces: usize = list("allowed_databricks_destinations")
        .iter()
        .map(|d| {
            d.get("workspace_ids")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    list("allowed_internet_destinations").len()
        + list("blocked_internet_destinations").len()
        + list("allowed_storage_destinations").len()
        + workspaces
}

/// Whether the policy's egress is in dry run (`policy_enforcement.enforcement_mode`; absent means
/// enforced, reference §5.1).
pub fn egress_dry_run(body: &Value) -> bool {
    get(
        body,
        &[
            "egress",
            "network_access",
            "policy_enforcement",
            "enforcement_mode",
        ],
    )
    .and_then(Value::as_str)
        == Some("DRY_RUN")
}

/// Whether the policy has public-access rules in dry run.
pub fn ingress_dry_run(body: &Value) -> bool {
    get(body, &["ingress_dry_run", "public_access"]).is_some_and(|v| !v.is_null())
}

/// The value at `path`.
pub fn get<'a>(body: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(body, |v, key| v.get(*key))
}

fn set(body: &mut Value, path: &[&str], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = body;
    for key in parents {
        if value.is_none() && node.get(*key).is_none() {
            return;
        }
        let map = node.as_object_mut().expect("policy bodies are objects");
        node = map
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
    }
    let map = node.as_object_mut().expect("checked above");
    match value {
        Some(v) if !normalize(v.clone()).is_null() => {
            map.insert((*last).to_owned(), v);
        }
        _ => {
            map.remove(*last);
        }
    }
}

/// A value as compared: nulls, empty lists and empty objects are absent; lists are sets (the
/// server may reorder them); `internet_destination_type: DNS_NAME` and
/// `enforcement_mode: ENFORCED` are what the server fills in when they are left out.
pub fn normalize(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items
                .into_iter()
                .map(normalize)
                .filter(|i| !i.is_null())
                .collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items)
            }
        }
        Value::Object(map) => {
            let map: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(k, v)| {
                    !(v.is_null()
                        || k == "internet_destination_type" && v == "DNS_NAME"
                        || k == "enforcement_mode" && v == "ENFORCED")
                })
                .collect();
            if map.is_empty() {
                Value::Null
            } else {
                Value::Object(map)
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ALLOWED: &[&str] = &["egress", "network_access", "allowed_internet_destinations"];

    fn dns(names: &[&str]) -> Value {
        Value::Array(
            names
                .iter()
                .map(|n| json!({"destination": n, "internet_destination_type": "DNS_NAME"}))
                .collect(),
        )
    }

    #[test]
    fn merge_changes_only_owned_fields_and_keeps_the_rest() {
        let live = json!({
            "network_policy_id": "p", "account_id": "a",
            "egress": {"network_access": {"restriction_mode": "RESTRICTED_ACCESS",
                "allowed_storage_destinations": [{"bucket_name": "b", "region": "us-east-1"}]}},
            "ingress": {"private_access": {"restriction_mode": "ALLOW_ALL_REGISTERED_ENDPOINTS"}}
        });
        let owned = vec![
            Owned::set(ALLOWED, "egress allowed domains", dns(&["a.com"])),
            Owned::absent(&["ingress_dry_run", "public_access"], "x"),
        ];
        let merged = merge(&live, &owned);
        assert_eq!(
            merged["egress"]["network_access"]["allowed_storage_destinations"][0]["bucket_name"],
            "b"
        );
        assert_eq!(
            merged["ingress"]["private_access"]["restriction_mode"],
            "ALLOW_ALL_REGISTERED_ENDPOINTS"
        );
        assert_eq!(merged["account_id"], "a");
        assert!(
            merged.get("ingress_dry_run").is_none(),
            "absent stays absent"
        );
        assert!(differences(&merged, &owned).is_empty());
        assert_eq!(differences(&live, &owned).len(), 1);
    }

    #[test]
    fn server_filled_defaults_and_order_are_not_drift() {
        let owned = vec![Owned::set(ALLOWED, "d", dns(&["a.com", "b.com"]))];
        let live = json!({"egress": {"network_access": {"allowed_internet_destinations": [
            {"destination": "b.com"}, {"destination": "a.com", "internet_destination_type": "DNS_NAME"}]}}});
        assert!(differences(&live, &owned).is_empty());
    }

    #[test]
    fn plan_text_names_added_and_removed_destinations() {
        let o = Owned::set(ALLOWED, "egress allowed domains", dns(&["a.com", "c.com"]));
        let live = json!({"egress": {"network_access": {"allowed_internet_destinations": dns(&["a.com", "b.com"])}}});
        assert_eq!(
            describe(&o, &live),
            "egress allowed domains: adds c.com, removes b.com"
        );
    }

    #[test]
    fn plan_text_names_the_rule_that_changed_and_the_mode_as_written() {
        let path: &[&str] = &["ingress", "public_access"];
        let rule = |ips: &[&str]| json!({"label": "office", "origin": {"included_ip_ranges": {"ip_ranges": ips}}});
        let o = Owned::set(
            path,
            "ingress public access",
            json!({"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [rule(&["10.0.0.0/8"])]}),
        );
        let live = json!({"ingress": {"public_access":
            {"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [rule(&["10.1.0.0/16"])]}}});
        assert_eq!(
            describe(&o, &live),
            "ingress public access: allow_rules changes office"
        );
        let e = Owned::set(
            &["egress", "network_access", "policy_enforcement"],
            "egress enforcement",
            json!({"enforcement_mode": "ENFORCED", "dry_run_mode_product_filter": []}),
        );
        let live = json!({"egress": {"network_access": {"policy_enforcement": {"enforcement_mode": "DRY_RUN"}}}});
        assert_eq!(
            describe(&e, &live),
            "egress enforcement: enforcement_mode DRY_RUN → ENFORCED"
        );
    }

    #[test]
    fn destinations_count_each_workspace() {
        let body = json!({"egress": {"network_access": {
            "allowed_internet_destinations": dns(&["a.com"]),
            "allowed_databricks_destinations": [{"workspace_ids": [1, 2, 3]}]}}});
        assert_eq!(destination_count(&body), 4);
    }
}
