//! Typed looks at (and out-of-band changes to) the emulated clouds: the AWS SDK as any account,
//! plink's own Databricks account client, and an inventory that counts every kind of resource
//! plink creates, so tests can say "exactly one of each".

use std::collections::BTreeMap;
use std::fmt;

use std::time::Duration;

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::{Filter, VpcEndpointType};
use plink::aws::AwsClients;
use plink::databricks::{
    AccountClient, ConnectionState, NetworkConnectivityConfig, PrivateEndpointRule, Settings,
    Workspace,
};

use super::stack::Stack;

/// The region of the fixtures that plink's own AWS clients ([`Stack::clients`]) act in.
pub const REGION: &str = "us-east-1";

/// The customer's AWS account (the stack's default credentials).
pub const CUSTOMER: &str = "123456789012";
/// Databricks' AWS account: owner of the serverless VPC endpoints.
pub const DATABRICKS_AWS: &str = "565502421330";
/// An unrelated AWS account, for foreign endpoint connections.
pub const FOREIGN: &str = "111122223333";

/// The Databricks principal allowed on endpoint services of `region`.
pub fn databricks_principal(region: &str) -> String {
    format!("arn:aws:iam::{DATABRICKS_AWS}:role/private-connectivity-role-{region}")
}

/// AWS clients acting as one account in one region.
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// One endpoint connection as the service owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    pub vpc_endpoint_id: String,
    pub owner: String,
    pub state: String,
}

/// Everything plink creates, counted on the emulators.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// VPC endpoints of the customer account (not deleted).
    pub endpoints: usize,
    /// Security groups other than `default` in the customer's VPCs.
    pub security_groups: usize,
    pub load_balancers: usize,
    pub target_groups: usize,
    pub listeners: usize,
    /// Targets registered in all target groups.
    pub targets: usize,
    pub endpoint_services: usize,
    /// Connections to the customer's endpoint services.
    pub connections: Vec<Conn>,
    /// Live (not deleting/deleted) endpoints of Databricks' AWS account.
    pub databricks_endpoints: usize,
    /// NCCs named like the workflow's, in its region.
    pub nccs: usize,
    /// Rules of those NCCs, deactivated ones included.
    pub rules: usize,
    /// Rules of those NCCs that are not deactivated.
    pub live_rules: usize,
    /// Statements of plink's (`Sid` `Plink…`) in the customer's bucket policies, all buckets.
    pub bucket_statements: usize,
    /// Every other statement of those policies (the fixtures hold one).
    pub other_statements: usize,
}

impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "endpoints={} security_groups={} nlbs={} target_groups={} listeners={} targets={} \
             endpoint_services={} connections={:?} databricks_endpoints={} nccs={} rules={} live_rules={} \
             bucket_statements={} other_statements={}",
            self.endpoints,
            self.security_groups,
            self.load_balancers,
            self.target_groups,
            self.listeners,
            self.targets,
            self.endpoint_services,
            self.connections,
            self.databricks_endpoints,
            self.nccs,
            self.rules,
            self.live_rules,
            self.bucket_statements,
            self.other_statements
        )
    }
}

impl Stack {
    /// AWS clients acting as `account` (12-digit access key = account, CONTRACT.md) in `region`.
    pub fn aws_as(&self, account: &str, region: &str) -> Aws {
        let endpoint = self.env["AWS_ENDPOINT_URL"].clone();
        let creds = Credentials::new(account, "plink-local-stack", None, None, "plink-e2e");
        let ec2 = aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&endpoint)
            .credentials_provider(creds.clone())
            .build();
        let elb = aws_sdk_elasticloadbalancingv2::Config::builder()
            .behavior_version(aws_sdk_elasticloadbalancingv2::config::BehaviorVersion::latest())
            .region(aws_sdk_elasticloadbalancingv2::config::Region::new(
                region.to_owned(),
            ))
            .endpoint_url(&endpoint)
            .credentials_provider(creds)
            .build();
        Aws {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb),
        }
    }

    /// AWS clients of the customer account.
    pub fn aws(&self, region: &str) -> Aws {
        self.aws_as(CUSTOMER, region)
    }

    /// plink's Databricks account client, configured from the stack's exports only.
    pub fn databricks(&self) -> AccountClient {
        let env = self.env.clone();
        let config = plink::databricks::resolve(&Settings::default(), |k| env.get(k).cloned())
            .expect("Databricks configuration from the stack's exports");
        AccountClient::new(&config).expect("Databricks client")
    }

    /// plink's own AWS clients (`plink::aws`) of the customer account in [`REGION`], with the
    /// SDK's standard retries.
    pub async fn clients(&self) -> AwsClients {
        self.clients_with(CUSTOMER, 3).await
    }

    /// plink's AWS clients acting as `account` (the emulator maps a 12-digit access key id to that
    /// account) in [`REGION`], with `max_attempts` SDK attempts per call.
    pub async fn clients_with(&self, account: &str, max_attempts: u32) -> AwsClients {
        let config = self.sdk_config(account, max_attempts).await;
        AwsClients::from_config(&config, REGION.into(), account.into())
    }

    /// An SDK configuration pointing at this stack as `account` in [`REGION`], built without
    /// touching the process environment (tests run in parallel threads).
    pub async fn sdk_config(&self, account: &str, max_attempts: u32) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.var("AWS_ENDPOINT_URL"))
            .credentials_provider(Credentials::new(
                account,
                "plink-local-stack",
                None,
                None,
                "plink-test",
            ))
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(max_attempts)
                    .with_initial_backoff(Duration::from_millis(20)),
            )
            .load()
            .await
    }

    // --- AWS looks ---

    /// Connections to the customer's endpoint services in `region`.
    pub fn connections(&self, region: &str) -> Vec<Conn> {
        let aws = self.aws(region);
        self.block_on(async {
            let out = aws
                .ec2
                .describe_vpc_endpoint_connections()
                .send()
                .await
                .expect("DescribeVpcEndpointConnections");
            out.vpc_endpoint_connections()
                .iter()
                .map(|c| Conn {
                    vpc_endpoint_id: c.vpc_endpoint_id().unwrap_or_default().to_owned(),
                    owner: c.vpc_endpoint_owner().unwrap_or_default().to_owned(),
                    state: c
                        .vpc_endpoint_state()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                })
                .collect()
        })
    }

    /// The one endpoint service of the customer in `region`: (service id, service name).
    pub fn endpoint_service(&self, region: &str) -> Option<(String, String)> {
        let aws = self.aws(region);
        self.block_on(async {
            let out = aws
                .ec2
                .describe_vpc_endpoint_service_configurations()
                .send()
                .await
                .expect("DescribeVpcEndpointServiceConfigurations");
            out.service_configurations().first().map(|s| {
                (
                    s.service_id().unwrap_or_default().to_owned(),
                    s.service_name().unwrap_or_default().to_owned(),
                )
            })
        })
    }

    /// The allowed principals of endpoint service `service_id`.
    pub fn allowed_principals(&self, region: &str, service_id: &str) -> Vec<String> {
        let aws = self.aws(region);
        self.block_on(async {
            let out = aws
                .ec2
                .describe_vpc_endpoint_service_permissions()
                .service_id(service_id)
                .send()
                .await
                .expect("DescribeVpcEndpointServicePermissions");
            out.allowed_principals()
                .iter()
                .filter_map(|p| p.principal().map(str::to_owned))
                .collect()
        })
    }

    /// Adds and removes allowed principals of `service_id`, out of band.
    pub fn modify_principals(&self, region: &str, service_id: &str, add: &[&str], remove: &[&str]) {
        let aws = self.aws(region);
        self.block_on(async {
            let mut req = aws
                .ec2
                .modify_vpc_endpoint_service_permissions()
                .service_id(service_id);
            for p in add {
                req = req.add_allowed_principals(*p);
            }
            for p in remove {
                req = req.remove_allowed_principals(*p);
            }
            req.send()
                .await
                .expect("ModifyVpcEndpointServicePermissions");
        });
    }

    /// Rejects the connection of `vpce_id` on `service_id`, out of band; returns the per-id
    /// failures AWS reported (empty on success).
    pub fn reject_connection(&self, region: &str, service_id: &str, vpce_id: &str) -> Vec<String> {
        let aws = self.aws(region);
        self.block_on(async {
            let out = aws
                .ec2
                .reject_vpc_endpoint_connections()
                .service_id(service_id)
                .vpc_endpoint_ids(vpce_id)
                .send()
                .await
                .expect("RejectVpcEndpointConnections");
            out.unsuccessful()
                .iter()
                .map(|u| format!("{:?}", u))
                .collect()
        })
    }

    /// As `account`, creates a VPC with one subnet per zone of `service_name` and an interface
    /// endpoint to it (the service must allow `account`). Returns the endpoint id.
    pub fn create_foreign_endpoint(
        &self,
        account: &str,
        region: &str,
        service_name: &str,
    ) -> String {
        let customer = self.aws(region);
        let foreign = self.aws_as(account, region);
        self.block_on(async {
            let zones: Vec<String> = customer
                .ec2
                .describe_vpc_endpoint_service_configurations()
                .send()
                .await
                .expect("DescribeVpcEndpointServiceConfigurations")
                .service_configurations()
                .iter()
                .find(|s| s.service_name() == Some(service_name))
                .map(|s| s.availability_zones().to_vec())
                .unwrap_or_else(|| vec![format!("{region}a"), format!("{region}b")]);
            let vpc = foreign
                .ec2
                .create_vpc()
                .cidr_block("10.99.0.0/16")
                .send()
                .await
                .expect("CreateVpc (foreign)");
            let vpc_id = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .expect("vpc id")
                .to_owned();
            let mut subnets = Vec::new();
            for (i, zone) in zones.iter().enumerate() {
                let s = foreign
                    .ec2
                    .create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(format!("10.99.{}.0/24", i + 1))
                    .availability_zone(zone)
                    .send()
                    .await
                    .expect("CreateSubnet (foreign)");
                subnets.push(
                    s.subnet()
                        .and_then(|s| s.subnet_id())
                        .expect("subnet id")
                        .to_owned(),
                );
            }
            let ep = foreign
                .ec2
                .create_vpc_endpoint()
                .vpc_id(&vpc_id)
                .service_name(service_name)
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .set_subnet_ids(Some(subnets))
                .send()
                .await
                .expect("CreateVpcEndpoint (foreign)");
            ep.vpc_endpoint()
                .and_then(|e| e.vpc_endpoint_id())
                .expect("vpce id")
                .to_owned()
        })
    }

    // --- Databricks looks ---

    /// Every NCC of the account.
    pub fn nccs(&self) -> Vec<NetworkConnectivityConfig> {
        let db = self.databricks();
        self.block_on(db.list_nccs()).expect("list NCCs")
    }

    /// Every rule of `ncc_id`, deactivated ones included.
    pub fn rules(&self, ncc_id: &str) -> Vec<PrivateEndpointRule> {
        let db = self.databricks();
        self.block_on(db.list_rules(ncc_id)).expect("list rules")
    }

    /// One workspace.
    pub fn workspace(&self, id: i64) -> Workspace {
        let db = self.databricks();
        self.block_on(db.get_workspace(id)).expect("get workspace")
    }

    /// A new NCC `name` in `region` (someone else's, or the one a workflow names); its id.
    pub fn create_ncc(&self, name: &str, region: &str) -> String {
        let db = self.databricks();
        self.block_on(db.create_ncc(name, region))
            .expect("create NCC")
            .network_connectivity_config_id
    }

    /// `count` private endpoint rules in NCC `ncc_id` (each to its own made-up endpoint service
    /// of `region`), as another team's deployments would have made them.
    pub fn fill_rules(&self, ncc_id: &str, region: &str, count: usize) {
        let db = self.databricks();
        for i in 0..count {
            let rule = plink::databricks::CreateRule::domain_names(
                format!("com.amazonaws.vpce.{region}.vpce-svc-{i:017x}"),
                [format!("filler{i}.example.com")],
            );
            self.block_on(db.create_rule(ncc_id, &rule))
                .expect("create a filler rule");
        }
    }

    /// `count` workspaces beyond the stack's seed, in `region`, bound to NCC `ncc_id` (the
    /// Databricks emulator's `POST /_plink/workspaces`: the seed's three cannot fill an NCC).
    pub fn bind_extra_workspaces(&self, ncc_id: &str, region: &str, count: usize) {
        let workspaces: Vec<serde_json::Value> = (0..count)
            .map(|i| {
                serde_json::json!({
                    "workspace_id": 7_000_000_000_000_000_i64 + i as i64,
                    "aws_region": region,
                    "network_connectivity_config_id": ncc_id,
                })
            })
            .collect();
        self.control(
            super::Emu::Databricks,
            "POST",
            "/_plink/workspaces",
            Some(serde_json::json!({ "workspaces": workspaces })),
        );
    }

    /// The NCC named `name` in `region`, if exactly one.
    pub fn ncc_named(&self, name: &str, region: &str) -> Option<NetworkConnectivityConfig> {
        let found: Vec<_> = self
            .nccs()
            .into_iter()
            .filter(|n| n.name == name && n.region == region)
            .collect();
        (found.len() == 1).then(|| found[0].clone())
    }

    /// The live rule of the workflow's NCC (if exactly one).
    pub fn live_rule(&self, ncc_name: &str, region: &str) -> Option<PrivateEndpointRule> {
        let ncc = self.ncc_named(ncc_name, region)?;
        let live: Vec<_> = self
            .rules(&ncc.network_connectivity_config_id)
            .into_iter()
            .filter(|r| !r.deactivated)
            .collect();
        (live.len() == 1).then(|| live[0].clone())
    }

    /// Counts everything plink creates for a workflow with NCC `ncc_name` in `region`.
    pub fn inventory(&self, region: &str, ncc_name: &str) -> Inventory {
        let aws = self.aws(region);
        let dbx_aws = self.aws_as(DATABRICKS_AWS, region);
        let mut inv = self.block_on(async {
            let mut inv = Inventory::default();
            let eps = aws
                .ec2
                .describe_vpc_endpoints()
                .send()
                .await
                .expect("DescribeVpcEndpoints");
            inv.endpoints = eps
                .vpc_endpoints()
                .iter()
                .filter(|e| {
                    !matches!(
                        e.state().map(|s| s.as_str()),
                        Some("deleted" | "deleting" | "Deleted" | "Deleting")
                    )
                })
                .count();
            let vpcs = aws
                .ec2
                .describe_vpcs()
                .filters(
                    Filter::builder()
                        .name("tag:Name")
                        .values("plink-demo-vpc")
                        .build(),
                )
                .send()
                .await
                .expect("DescribeVpcs");
            let vpc_ids: Vec<String> = vpcs
                .vpcs()
                .iter()
                .filter_map(|v| v.vpc_id().map(str::to_owned))
                .collect();
            let sgs = aws
                .ec2
                .describe_security_groups()
                .filters(
                    Filter::builder()
                        .name("vpc-id")
                        .set_values(Some(vpc_ids))
                        .build(),
                )
                .send()
                .await
                .expect("DescribeSecurityGroups");
            inv.security_groups = sgs
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .count();
            let lbs = aws
                .elb
                .describe_load_balancers()
                .send()
                .await
                .expect("DescribeLoadBalancers");
            inv.load_balancers = lbs.load_balancers().len();
            for lb in lbs.load_balancers() {
                let ls = aws
                    .elb
                    .describe_listeners()
                    .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
                    .send()
                    .await
                    .expect("DescribeListeners");
                inv.listeners += ls.listeners().len();
            }
            let tgs = aws
                .elb
                .describe_target_groups()
                .send()
                .await
                .expect("DescribeTargetGroups");
            inv.target_groups = tgs.target_groups().len();
            for tg in tgs.target_groups() {
                let th = aws
                    .elb
                    .describe_target_health()
                    .target_group_arn(tg.target_group_arn().unwrap_or_default())
                    .send()
                    .await
                    .expect("DescribeTargetHealth");
                inv.targets += th.target_health_descriptions().len();
            }
            let svcs = aws
                .ec2
                .describe_vpc_endpoint_service_configurations()
                .send()
                .await
                .expect("DescribeVpcEndpointServiceConfigurations");
            inv.endpoint_services = svcs.service_configurations().len();
            let dbx = dbx_aws
                .ec2
                .describe_vpc_endpoints()
                .send()
                .await
                .expect("DescribeVpcEndpoints (Databricks)");
            inv.databricks_endpoints = dbx
                .vpc_endpoints()
                .iter()
                .filter(|e| {
                    !matches!(
                        e.state().map(|s| s.as_str()),
                        Some("deleted" | "deleting" | "Deleted" | "Deleting")
                    )
                })
                .count();
            inv
        });
        inv.connections = self.connections(region);
        (inv.bucket_statements, inv.other_statements) = self.bucket_statements();
        let nccs: Vec<_> = self
            .nccs()
            .into_iter()
            .filter(|n| n.name == ncc_name && n.region == region)
            .collect();
        inv.nccs = nccs.len();
        for n in &nccs {
            let rules = self.rules(&n.network_connectivity_config_id);
            inv.rules += rules.len();
            inv.live_rules += rules.iter().filter(|r| !r.deactivated).count();
        }
        inv
    }

    /// Statements in the customer's bucket policies: (plink's, every other), all buckets.
    pub fn bucket_statements(&self) -> (usize, usize) {
        self.block_on(async {
            let aws = self.clients().await;
            let buckets = aws.s3.list_buckets().send().await.expect("ListBuckets");
            let (mut ours, mut others) = (0, 0);
            for b in buckets.buckets() {
                let name = b.name().unwrap_or_default();
                let Some(text) = aws.bucket_policy(name).await.expect("GetBucketPolicy") else {
                    continue;
                };
                let policy: serde_json::Value = serde_json::from_str(&text).expect("policy JSON");
                for st in policy["Statement"].as_array().into_iter().flatten() {
                    if st["Sid"].as_str().is_some_and(|s| s.starts_with("Plink")) {
                        ours += 1;
                    } else {
                        others += 1;
                    }
                }
            }
            (ours, others)
        })
    }

    /// The connection states of the customer's endpoint services, by endpoint id.
    pub fn connection_states(&self, region: &str) -> BTreeMap<String, String> {
        self.connections(region)
            .into_iter()
            .map(|c| (c.vpc_endpoint_id, c.state))
            .collect()
    }
}

/// `ESTABLISHED`, `PENDING`, … of a rule.
/// Removes security group `sg`'s inbound rule for TCP `port` from `cidr`, out of band (a drift
/// `plan` and `verify` must name).
pub async fn revoke_tcp_ingress(aws: &AwsClients, sg: &str, cidr: &str, port: i32) {
    aws.ec2
        .revoke_security_group_ingress()
        .group_id(sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .expect("revoke the security group rule");
}

pub fn rule_state(rule: &PrivateEndpointRule) -> String {
    rule.connection_state
        .as_ref()
        .map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned())
}

/// Whether the rule is ESTABLISHED.
pub fn established(rule: &PrivateEndpointRule) -> bool {
    rule.connection_state == Some(ConnectionState::Established)
}
