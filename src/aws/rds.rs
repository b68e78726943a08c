//! RDS DB instances and Aurora clusters named as the targets of an NLB (`nlb-service`, issue
//! #10): read only. plink registers the address their endpoint resolves to; a failover moves it.

use super::AwsClients;
use super::error::{AwsError, ErrorKind, Service};

/// Where a database answers: its endpoint (a DNS name on AWS), port, VPC and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbEndpoint {
    /// Empty while it is being created.
    pub address: String,
    pub port: u16,
    pub vpc_id: Option<String>,
    pub status: String,
}

fn port(p: Option<i32>) -> u16 {
    p.and_then(|p| u16::try_from(p).ok()).unwrap_or(0)
}

impl AwsClients {
    /// The endpoint of DB instance `id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] (`DBInstanceNotFound`); any other [`AwsError`] of
    /// `DescribeDBInstances`.
    pub async fn db_instance(&self, id: &str) -> Result<DbEndpoint, AwsError> {
        let out = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, "DescribeDBInstances", e))?;
        let db = out.db_instances().first().ok_or_else(|| {
            AwsError::local(
                Service::Rds,
                "DescribeDBInstances",
                ErrorKind::NotFound,
                format!("DB instance {id} not found"),
            )
        })?;
        let endpoint = db.endpoint();
        Ok(DbEndpoint {
            address: endpoint
                .and_then(|e| e.address())
                .unwrap_or_default()
                .to_owned(),
            port: port(endpoint.and_then(|e| e.port())),
            vpc_id: db
                .db_subnet_group()
                .and_then(|g| g.vpc_id())
                .map(str::to_owned),
            status: db.db_instance_status().unwrap_or_default().to_owned(),
        })
    }

    /// The writer endpoint of Aurora cluster `id` (its VPC from its DB subnet group).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] (`DBClusterNotFoundFault`); any other [`AwsError`] of
    /// `DescribeDBClusters` or `DescribeDBSubnetGroups`.
    pub async fn db_cluster(&self, id: &str) -> Result<DbEndpoint, AwsError> {
        let out = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, "DescribeDBClusters", e))?;
        let cluster = out.db_clusters().first().ok_or_else(|| {
            AwsError::local(
                Service::Rds,
                "DescribeDBClusters",
                ErrorKind::NotFound,
                format!("DB cluster {id} not found"),
            )
        })?;
        let vpc_id = match cluster.db_subnet_group() {
            Some(group) => self
                .rds
                .describe_db_subnet_groups()
                .db_subnet_group_name(group)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(Service::Rds, "DescribeDBSubnetGroups", e))?
                .db_subnet_groups()
                .first()
                .and_then(|g| g.vpc_id())
                .map(str::to_owned),
            None => None,
        };
        Ok(DbEndpoint {
            address: cluster.endpoint().unwrap_or_default().to_owned(),
            port: port(cluster.port()),
            vpc_id,
            status: cluster.status().unwrap_or_default().to_owned(),
        })
    }
}
