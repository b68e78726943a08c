//! The Databricks side every kind ends with, node by node: the NCC, the rule's wait for
//! `ESTABLISHED`, and the bindings of the NCC to the workspaces. What comes between the NCC and
//! `ESTABLISHED` (the rule, and what makes it establish: acceptance of its connection, or bucket
//! policies) is the kind's own.
//!
//! The node ids (`ncc`, `established`, `bind`) are state step names: they never change.

use super::{Graph, Upstream};
use crate::config::{DatabricksSettings, NccSelector, Timeouts};
use crate::engine::StepId;
use crate::resources::binding::{Binding, BindingInputs, BindingRecord};
use crate::resources::ncc::{Ncc, NccChoice, NccInputs, NccRecord};
use crate::resources::rule::{Established, EstablishedInputs, RuleRecord};
use crate::resources::{Res, need};

/// `ncc`: the file's NCC, adopted or created, after `deps` (the read-only checks: nothing is
/// created, NCC included — one of only 10 per region — before they pass).
pub(super) fn ncc(
    graph: Graph,
    deps: &[StepId],
    databricks: &DatabricksSettings,
    timeouts: &Timeouts,
) -> Graph {
    graph.node(
        "ncc",
        deps,
        Ncc {
            choice: match &databricks.ncc {
                NccSelector::Name(name) => NccChoice::Named(name.as_str().to_owned()),
                NccSelector::Id(id) => NccChoice::Id(id.clone()),
            },
            workspace_timeout: timeouts.workspace,
        },
        |up| {
            // For teardown: the NCCs `up --replace-ncc-binding` switched away from.
            let bind: BindingRecord = up.record("bind");
            let rule: RuleRecord = up.record("rule");
            Ok(NccInputs {
                own_rule_ids: Some(rule.rule_id)
                    .into_iter()
                    .filter(|r| !r.is_empty())
                    .collect(),
                replaced_ncc_ids: bind
                    .workspaces
                    .into_iter()
                    .filter_map(|w| w.replaced_ncc_id.map(|r| (w.workspace_id, r)))
                    .collect(),
            })
        },
    )
}

/// `established`: the rule `ESTABLISHED`, after `deps`.
pub(super) fn established(graph: Graph, deps: &[StepId], timeouts: &Timeouts) -> Graph {
    graph.node(
        "established",
        deps,
        Established {
            timeout: timeouts.rule_established,
        },
        rule_of,
    )
}

/// `bind`: the NCC bound to the file's workspaces, after `after` (and the NCC: an NCC kept by
/// `down` keeps its bindings' record).
pub(super) fn bind(
    graph: Graph,
    after: StepId,
    databricks: &DatabricksSettings,
    timeouts: &Timeouts,
) -> Graph {
    graph.node(
        "bind",
        &[after, "ncc"],
        Binding {
            workspace_ids: databricks.workspace_ids.clone(),
            timeout: timeouts.workspace,
            ncc: databricks.ncc.clone(),
        },
        |up| {
            let ncc: NccRecord = up.record("ncc");
            Ok(BindingInputs {
                ncc_id: need(&ncc.ncc_id, "the NCC")?,
            })
        },
    )
}

/// The rule of the `rule` node, in its NCC.
pub(super) fn rule_of(up: &Upstream<'_>) -> Res<EstablishedInputs> {
    let ncc: NccRecord = up.record("ncc");
    let rule: RuleRecord = up.record("rule");
    Ok(EstablishedInputs {
        ncc_id: need(&ncc.ncc_id, "the NCC")?,
        rule_id: need(&rule.rule_id, "the rule")?,
    })
}
