//! The NLB's TCP listener that forwards to the target group.

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};

#[cfg(doc)]
use super::ErrorKind;
use super::error::{AwsError, Result, Service, elb_error, unless_not_found};
use super::tags::PlinkTags;
use super::{AwsClients, or_empty};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: Option<i32>,
    pub protocol: String,
    /// The target groups the default actions forward to.
    pub target_group_arns: Vec<String>,
}

/// The request to create a TCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateListener {
    pub load_balancer_arn: String,
    /// 443 for S3.
    pub port: i32,
    pub target_group_arn: String,
    pub tags: PlinkTags,
}

fn to_listener(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> Listener {
    let mut target_group_arns: Vec<String> = Vec::new();
    for action in l.default_actions() {
        if let Some(arn) = action.target_group_arn() {
            target_group_arns.push(arn.to_owned());
        }
        if let Some(forward) = action.forward_config() {
            for tg in forward.target_groups() {
                if let Some(arn) = tg.target_group_arn()
                    && !target_group_arns.iter().any(|a| a == arn)
                {
                    target_group_arns.push(arn.to_owned());
                }
            }
        }
    }
    Listener {
        arn: or_empty(l.listener_arn()),
        load_balancer_arn: or_empty(l.load_balancer_arn()),
        port: l.port(),
        protocol: or_empty(l.protocol()),
        target_group_arns,
    }
}

impl AwsClients {
    /// The listeners of a load balancer; empty if the load balancer does not exist.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeListeners` other than `LoadBalancerNotFound`.
    pub async fn listeners(&self, load_balancer_arn: &str) -> Result<Vec<Listener>> {
        let req = self
            .elb
            .describe_listeners()
            .load_balancer_arn(load_balancer_arn);
        let all = all_items!(req, elb_error("DescribeListeners"), to_listener);
        Ok(unless_not_found(all)?.unwrap_or_default())
    }

    /// The listener of `load_balancer_arn` on `port` — the natural key of a listener (a load
    /// balancer has at most one per port), looked up before every create.
    ///
    /// # Errors
    /// See [`listeners`](Self::listeners).
    pub async fn find_listener(
        &self,
        load_balancer_arn: &str,
        port: i32,
    ) -> Result<Option<Listener>> {
        let listeners = self.listeners(load_balancer_arn).await?;
        Ok(listeners.into_iter().find(|l| l.port == Some(port)))
    }

    /// Creates a TCP listener forwarding to the target group. Creating the same listener again
    /// returns the existing one.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`DuplicateListener`) if the port is taken with other settings;
    /// any other [`AwsError`] of `CreateListener`.
    pub async fn create_tcp_listener(&self, input: &CreateListener) -> Result<Listener> {
        tracing::debug!(load_balancer = %input.load_balancer_arn, port = input.port, "CreateListener");
        let req = self
            .elb
            .create_listener()
            .load_balancer_arn(&input.load_balancer_arn)
            .protocol(ProtocolEnum::Tcp)
            .port(input.port)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&input.target_group_arn)
                    .build(),
            )
            .set_tags(Some(input.tags.elb_tags()));
        self.spend("elbv2", "CreateListener").await;
        let out = req.send().await.map_err(elb_error("CreateListener"))?;
        let listener = out.listeners().first().map(to_listener);
        listener.ok_or_else(|| AwsError::no_answer(Service::Elb, "CreateListener", "listener"))
    }

    /// Deletes a listener. One that no longer exists is fine.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DeleteListener` other than `ListenerNotFound`.
    pub async fn delete_listener(&self, arn: &str) -> Result<()> {
        tracing::debug!(%arn, "DeleteListener");
        let req = self.elb.delete_listener().listener_arn(arn);
        self.spend("elbv2", "DeleteListener").await;
        unless_not_found(req.send().await.map_err(elb_error("DeleteListener")))?;
        Ok(())
    }
}
