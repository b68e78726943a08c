//! Connections to the endpoint service: which consumer endpoints asked, accepting and rejecting.

use super::error::{AwsError, ErrorKind, Result, Service, check_unsuccessful, ec2_error};
use super::tags::filter;
use super::{AwsClients, or_empty};

/// A consumer's connection to the endpoint service, as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConnection {
    pub service_id: String,
    /// The consumer's endpoint (`vpce-…`), e.g. the one Databricks' NCC rule reports.
    pub vpce_id: String,
    /// The consumer's AWS account (Databricks: `565502421330` in the commercial partition).
    pub owner: String,
    /// `pendingAcceptance`, `pending`, `available`, `deleting`, `deleted`, `rejected`, `failed`,
    /// `expired`, or a newer value.
    pub state: String,
    pub connection_id: Option<String>,
    pub created: Option<String>,
}

impl EndpointConnection {
    pub fn is_pending_acceptance(&self) -> bool {
        self.state == "pendingAcceptance"
    }

    pub fn is_available(&self) -> bool {
        self.state == "available"
    }
}

fn to_connection(c: &aws_sdk_ec2::types::VpcEndpointConnection) -> EndpointConnection {
    EndpointConnection {
        service_id: or_empty(c.service_id()),
        vpce_id: or_empty(c.vpc_endpoint_id()),
        owner: or_empty(c.vpc_endpoint_owner()),
        state: or_empty(c.vpc_endpoint_state()),
        connection_id: c.vpc_endpoint_connection_id().map(str::to_owned),
        created: c.creation_timestamp().map(ToString::to_string),
    }
}

impl AwsClients {
    /// The connections to `service_id`, optionally only the one of `vpce_id`.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpointConnections`.
    pub async fn endpoint_connections(
        &self,
        service_id: &str,
        vpce_id: Option<&str>,
    ) -> Result<Vec<EndpointConnection>> {
        let mut req = self
            .ec2
            .describe_vpc_endpoint_connections()
            .filters(filter("service-id", [service_id]));
        if let Some(id) = vpce_id {
            req = req.filters(filter("vpc-endpoint-id", [id]));
        }
        let to_error = ec2_error("DescribeVpcEndpointConnections");
        let mut all = all_items!(req, to_error, to_connection)?;
        // Filters are applied by the server; checking again costs nothing.
        all.retain(|c| c.service_id == service_id && vpce_id.is_none_or(|id| c.vpce_id == id));
        Ok(all)
    }

    /// Accepts exactly these endpoint connections.
    ///
    /// # Errors
    /// An [`AwsError`] listing every id AWS reported in `Unsuccessful` (e.g.
    /// `InvalidVpcEndpointId.NotFound` for an unknown id) — the call answers HTTP 200 even then;
    /// any [`AwsError`] of `AcceptVpcEndpointConnections`.
    pub async fn accept_endpoint_connections(
        &self,
        service_id: &str,
        vpce_ids: &[String],
    ) -> Result<()> {
        let operation = "AcceptVpcEndpointConnections";
        if vpce_ids.is_empty() {
            return Ok(());
        }
        tracing::debug!(service = %service_id, ?vpce_ids, operation);
        let req = self
            .ec2
            .accept_vpc_endpoint_connections()
            .service_id(service_id)
            .set_vpc_endpoint_ids(Some(vpce_ids.to_vec()));
        self.spend("ec2", operation).await;
        let out = req.send().await.map_err(ec2_error(operation))?;
        AwsError::from_unsuccessful(operation, out.unsuccessful()).map_or(Ok(()), Err)
    }

    /// Accepts the connection of `vpce_id` only if it belongs to `expected_owner` (Databricks'
    /// account); a connection that is already `available` is left as is.
    ///
    /// This is the safe form of acceptance: plink never accepts a connection it cannot
    /// attribute, even when someone else's endpoint is pending on the same service.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] if the service has no connection from `vpce_id` (yet);
    /// - [`ErrorKind::Invalid`] if the connection belongs to another account, or is in a state
    ///   that cannot be accepted (`rejected`, `failed`, `expired`, …);
    /// - see [`accept_endpoint_connections`](Self::accept_endpoint_connections).
    pub async fn accept_endpoint_connection_from(
        &self,
        service_id: &str,
        vpce_id: &str,
        expected_owner: &str,
    ) -> Result<EndpointConnection> {
        let operation = "AcceptVpcEndpointConnections";
        let fail = |kind, msg| Err(AwsError::local(Service::Ec2, operation, kind, msg));
        let found = self.endpoint_connections(service_id, Some(vpce_id)).await?;
        let Some(conn) = found.into_iter().next() else {
            let msg = format!("endpoint service {service_id} has no connection from {vpce_id}");
            return fail(ErrorKind::NotFound, msg);
        };
        let (owner, state) = (&conn.owner, &conn.state);
        if owner != expected_owner {
            let msg = format!(
                "refusing to accept {vpce_id}: it belongs to account {owner}, expected {expected_owner}"
            );
            return fail(ErrorKind::Invalid, msg);
        }
        if conn.is_available() || state == "pending" {
            return Ok(conn);
        }
        if !conn.is_pending_acceptance() {
            let msg = format!(
                "connection {vpce_id} is `{state}` and cannot be accepted; the consumer must \
                 create a new endpoint"
            );
            return fail(ErrorKind::Invalid, msg);
        }
        self.accept_endpoint_connections(service_id, &[vpce_id.to_owned()])
            .await?;
        let after = self.endpoint_connections(service_id, Some(vpce_id)).await?;
        let pending = EndpointConnection {
            state: "pending".into(),
            ..conn
        };
        Ok(after.into_iter().next().unwrap_or(pending))
    }

    /// Rejects these endpoint connections (before deleting the service, or to refuse a stranger).
    /// Connections that no longer exist are fine.
    ///
    /// # Errors
    /// An [`AwsError`] listing the ids AWS reported in `Unsuccessful` (other than not-found
    /// ones); any [`AwsError`] of `RejectVpcEndpointConnections`.
    pub async fn reject_endpoint_connections(
        &self,
        service_id: &str,
        vpce_ids: &[String],
    ) -> Result<()> {
        let operation = "RejectVpcEndpointConnections";
        if vpce_ids.is_empty() {
            return Ok(());
        }
        tracing::debug!(service = %service_id, ?vpce_ids, operation);
        let req = self
            .ec2
            .reject_vpc_endpoint_connections()
            .service_id(service_id)
            .set_vpc_endpoint_ids(Some(vpce_ids.to_vec()));
        self.spend("ec2", operation).await;
        let out = req.send().await.map_err(ec2_error(operation))?;
        check_unsuccessful(operation, out.unsuccessful())
    }
}
