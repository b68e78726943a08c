//! `down_endpoint`: delete plink's S3 interface endpoint(s) and wait until they are gone (their
//! ENIs go with them, which frees the security group).

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, records};
use crate::aws::VpcEndpoint;
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownEndpoint(pub Down);

#[async_trait]
impl Step for DownEndpoint {
    fn id(&self) -> StepId {
        "down_endpoint"
    }

    fn depends_on(&self) -> Vec<StepId> {
        // After the rule: Databricks stops sending traffic first.
        vec!["down_rule"]
    }

    fn describe(&self) -> String {
        "delete the interface endpoint".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let endpoints = self.locate(cx).await?;
        if endpoints.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = endpoints.iter().map(|e| e.id.clone()).collect();
        let to_delete: Vec<String> = endpoints
            .iter()
            .filter(|e| !e.state.eq_ignore_ascii_case("deleting"))
            .map(|e| e.id.clone())
            .collect();
        if !to_delete.is_empty() {
            cx.begin(
                Intent::new("delete_vpc_endpoints").key("vpc_endpoint_ids", to_delete.join(",")),
            )?;
            aws.delete_vpc_endpoints(&to_delete)
                .await
                .map_err(|e| errors::aws("deleting the interface endpoint", e))?;
        }
        cx.record(&Deleted {
            deleted: ids.clone(),
        })?;
        let policy = d.env.wait(5, 15, d.env.workflow.timeouts.endpoint);
        cx.wait_for("the interface endpoint to be gone", &policy, || async {
            let mut left = Vec::new();
            for id in &ids {
                if let Some(e) = aws
                    .describe_vpc_endpoint(id)
                    .await
                    .map_err(|e| errors::aws("reading the interface endpoint", e))?
                    && !e.state.eq_ignore_ascii_case("deleted")
                {
                    left.push(format!("{} {}", e.id, e.state));
                }
            }
            if left.is_empty() {
                Ok(Poll::Ready(()))
            } else {
                Ok(Poll::Pending(left.join(", ")))
            }
        })
        .await
    }
}

impl DownEndpoint {
    /// The recorded endpoint and every endpoint carrying plink's tags for this deployment that is
    /// not deleted yet.
    async fn locate(&self, cx: &StepContext) -> Result<Vec<VpcEndpoint>, StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let mut found = Vec::new();
        let rec: records::Endpoint = records::of(cx, "endpoint");
        if let Some(id) = &rec.vpc_endpoint_id
            && let Some(e) = aws
                .describe_vpc_endpoint(id)
                .await
                .map_err(|e| errors::aws("reading the interface endpoint", e))?
        {
            found.push(e);
        }
        let tagged = aws
            .find_vpc_endpoints(&d.tagged("endpoint"))
            .await
            .map_err(|e| errors::aws("looking up tagged endpoints", e))?;
        for e in tagged {
            if !found.iter().any(|f| f.id == e.id) {
                found.push(e);
            }
        }
        found.retain(|e| {
            !e.state.eq_ignore_ascii_case("deleted")
                && d.owns(
                    cx,
                    &e.tags,
                    "endpoint",
                    &format!("interface endpoint {}", e.id),
                )
        });
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}
