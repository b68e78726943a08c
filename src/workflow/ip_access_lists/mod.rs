//! `ip-access-lists` (issue #12, seed 003): each workspace's IP access lists (by label), and the
//! switch that enforces them, with a lockout guard for the operator networks.
//!
//! Graph: one node per workspace, `ip_<workspace id>` (independent: they run concurrently). Node
//! ids are state step names.

pub mod config;

use super::{Clouds, Graph, Loaded, WorkflowKind, intern};
use crate::config::{ConfigError, WorkflowText};
use crate::resources::ip_access::{DesiredList, IpAccess};

pub use config::Config;

/// The kind's name.
pub const NAME: &str = "ip-access-lists";

/// The `ip-access-lists` kind.
#[derive(Debug)]
pub struct IpAccessLists;

impl WorkflowKind for IpAccessLists {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let c = config::parse(&file.path, &file.text)?;
        let summary = format!(
            "{} list(s) on {} workspace(s), {}{}",
            c.lists.len(),
            c.databricks.workspace_ids.len(),
            if c.enabled {
                "enforced"
            } else {
                "not enforced"
            },
            if c.exclusive { ", exclusive" } else { "" }
        );
        let clouds = Clouds::databricks_only(&c.databricks);
        Loaded::new(
            &IpAccessLists,
            file,
            &c.deployment,
            clouds,
            summary,
            Ok(graph(&c)),
        )
    }
}

/// The node of workspace `id`.
pub fn node(id: i64) -> &'static str {
    intern(format!("ip_{id}"))
}

/// What the file wants of workspace `id`.
pub fn resource(c: &Config, id: i64) -> IpAccess {
    IpAccess {
        workspace_id: id,
        lists: c
            .lists
            .iter()
            .filter(|l| l.workspaces.contains(&id))
            .map(|l| DesiredList {
                label: l.label.clone(),
                allow: l.allow,
                nets: l.nets.clone(),
                enabled: l.enabled,
            })
            .collect(),
        enabled: c.enabled,
        exclusive: c.exclusive,
        operators: c.operators.clone(),
    }
}

/// The graph of an `ip-access-lists` deployment.
pub fn graph(c: &Config) -> Graph {
    c.databricks
        .workspace_ids
        .iter()
        .fold(Graph::new(), |g, &id| {
            g.node(node(id), &[], resource(c, id), |_| Ok(()))
        })
}
