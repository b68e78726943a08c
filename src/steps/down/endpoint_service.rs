//! `down_endpoint_service`: delete plink's VPC endpoint service, until it is gone (the NLB
//! cannot be deleted while a service uses it).

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, connections, records};
use crate::aws::{EndpointService, ErrorKind};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownEndpointService(pub Down);

/// The deployment's endpoint services that still exist: the recorded one, and any carrying
/// plink's tags for this deployment (a create whose answer was lost).
pub(super) async fn find(d: &Down, cx: &StepContext) -> Result<Vec<EndpointService>, StepError> {
    let aws = &d.env.aws;
    let mut found = Vec::new();
    let rec: records::EndpointService = records::of(cx, "endpoint_service");
    if let Some(id) = &rec.service_id
        && let Some(s) = aws
            .describe_endpoint_service(id)
            .await
            .map_err(|e| errors::aws("reading the endpoint service", e))?
    {
        found.push(s);
    }
    let tagged = aws
        .find_endpoint_services(&d.tagged("endpoint_service"))
        .await
        .map_err(|e| errors::aws("looking up tagged endpoint services", e))?;
    for s in tagged {
        if !found.iter().any(|f| f.id == s.id) {
            found.push(s);
        }
    }
    found.retain(|s| !s.state.eq_ignore_ascii_case("Deleted"));
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// The services of [`find`] that plink may delete (see [`Down::owns`]).
pub(super) async fn locate(d: &Down, cx: &StepContext) -> Result<Vec<EndpointService>, StepError> {
    let mut found = find(d, cx).await?;
    found.retain(|s| {
        d.owns(
            cx,
            &s.tags,
            "endpoint_service",
            &format!("endpoint service {}", s.id),
        )
    });
    Ok(found)
}

#[async_trait]
impl Step for DownEndpointService {
    fn id(&self) -> StepId {
        "down_endpoint_service"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_connections"]
    }

    fn describe(&self) -> String {
        "delete the VPC endpoint service".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let services = locate(d, cx).await?;
        if services.is_empty() {
            return Ok(());
        }
        let mut out = Deleted::default();
        for service in &services {
            if !service.state.eq_ignore_ascii_case("Deleting") {
                cx.begin(
                    Intent::new("delete_vpc_endpoint_service")
                        .key("service_id", &service.id)
                        .key("service_name", &service.name),
                )?;
                match aws
                    .delete_endpoint_services(std::slice::from_ref(&service.id))
                    .await
                {
                    Ok(()) => {}
                    // A connection arrived after `down_connections`: reject it too, then retry.
                    Err(e) if e.has_code("ExistingVpcEndpointConnections") => {
                        connections::reject_live(d, cx, service, None).await?;
                        return Err(StepError::retryable(format!(
                            "endpoint service {} still had connections; rejected them",
                            service.id
                        )));
                    }
                    Err(e) if e.kind == ErrorKind::Conflict => {
                        return Err(StepError::retryable(format!(
                            "deleting the endpoint service: {}",
                            e.summary()
                        )));
                    }
                    Err(e) => return Err(errors::aws("deleting the endpoint service", e)),
                }
            }
            out.deleted.push(service.id.clone());
            cx.record(&out)?;
        }
        let policy = d.env.wait(2, 10, d.env.workflow.timeouts.endpoint_service);
        cx.wait_for("the endpoint service to be gone", &policy, || async {
            let mut left = Vec::new();
            for s in &services {
                if let Some(now) = aws
                    .describe_endpoint_service(&s.id)
                    .await
                    .map_err(|e| errors::aws("reading the endpoint service", e))?
                    && !now.state.eq_ignore_ascii_case("Deleted")
                {
                    left.push(format!("{} {}", now.id, now.state));
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
