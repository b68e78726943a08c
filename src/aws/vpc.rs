//! The customer's VPC, its subnets, and the security group plink may manage.

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};

use super::AwsClients;
use super::error::{AwsError, ErrorKind, Service};
use super::tags::{PlinkTags, TagQuery, Tags, filter, from_ec2, tag_filter};

/// How the user names a VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcSelector {
    Id(String),
    /// Every pair must match (e.g. `Name=plink-demo-vpc`).
    Tags(Vec<(String, String)>),
}

/// How the user names subnets (always within one VPC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetSelector {
    Ids(Vec<String>),
    /// Every pair must match (e.g. `plink-demo=private`).
    Tags(Vec<(String, String)>),
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    /// The primary CIDR block first, then the associated ones.
    pub cidr_blocks: Vec<String>,
    pub owner_id: Option<String>,
    pub is_default: bool,
    pub tags: Tags,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub availability_zone_id: Option<String>,
    pub cidr_block: String,
    pub tags: Tags,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub vpc_id: Option<String>,
    /// The IPv4 CIDRs allowed in on TCP 443.
    pub https_ingress_cidrs: Vec<String>,
    pub tags: Tags,
}

/// A security group plink creates for the interface endpoint: TCP 443 in from the given CIDRs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSecurityGroup {
    pub vpc_id: String,
    /// Unique in the VPC: the natural key used to find it again.
    pub name: String,
    pub description: String,
    /// Usually the CIDRs of the NLB's subnets (NLB health checks and traffic come from there).
    pub ingress_cidrs: Vec<String>,
    pub tags: PlinkTags,
}

fn selector_text(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn name_of(tags: &Tags) -> String {
    tags.get("Name")
        .map(|n| format!(" ({n})"))
        .unwrap_or_default()
}

fn to_vpc(v: &aws_sdk_ec2::types::Vpc) -> Vpc {
    let mut cidr_blocks: Vec<String> = v.cidr_block().into_iter().map(str::to_owned).collect();
    for assoc in v.cidr_block_association_set() {
        if let Some(c) = assoc.cidr_block()
            && !cidr_blocks.iter().any(|x| x == c)
        {
            cidr_blocks.push(c.to_owned());
        }
    }
    Vpc {
        id: v.vpc_id().unwrap_or_default().to_owned(),
        cidr_blocks,
        owner_id: v.owner_id().map(str::to_owned),
        is_default: v.is_default().unwrap_or(false),
        tags: from_ec2(v.tags()),
    }
}

fn to_subnet(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_owned(),
        vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
        availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
        availability_zone_id: s.availability_zone_id().map(str::to_owned),
        cidr_block: s.cidr_block().unwrap_or_default().to_owned(),
        tags: from_ec2(s.tags()),
    }
}

fn to_security_group(g: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroup {
    let https_ingress_cidrs = g
        .ip_permissions()
        .iter()
        .filter(|p| {
            p.ip_protocol() == Some("-1")
                || (p.ip_protocol() == Some("tcp")
                    && p.from_port().unwrap_or(0) <= 443
                    && p.to_port().unwrap_or(65535) >= 443)
        })
        .flat_map(|p| p.ip_ranges().iter().filter_map(|r| r.cidr_ip()))
        .map(str::to_owned)
        .collect();
    SecurityGroup {
        id: g.group_id().unwrap_or_default().to_owned(),
        name: g.group_name().unwrap_or_default().to_owned(),
        vpc_id: g.vpc_id().map(str::to_owned),
        https_ingress_cidrs,
        tags: from_ec2(g.tags()),
    }
}

impl AwsClients {
    /// The one VPC the selector names.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] if no VPC matches (by id: `InvalidVpcID.NotFound`);
    /// - [`ErrorKind::Invalid`] if the tags match several VPCs (the message lists them);
    /// - any other [`AwsError`] of `DescribeVpcs`.
    pub async fn find_vpc(&self, selector: &VpcSelector) -> Result<Vpc, AwsError> {
        let req = self.ec2.describe_vpcs();
        let req = match selector {
            VpcSelector::Id(id) => req.vpc_ids(id),
            VpcSelector::Tags(pairs) => pairs
                .iter()
                .fold(req, |r, (k, v)| r.filters(tag_filter(k, v))),
        };
        let vpcs: Vec<Vpc> = req
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "DescribeVpcs", e))?
            .iter()
            .map(to_vpc)
            .collect();
        let what = match selector {
            VpcSelector::Id(id) => format!("id {id}"),
            VpcSelector::Tags(pairs) => format!("tags {}", selector_text(pairs)),
        };
        match vpcs.len() {
            1 => Ok(vpcs.into_iter().next().expect("one")),
            0 => Err(AwsError::local(
                Service::Ec2,
                "DescribeVpcs",
                ErrorKind::NotFound,
                format!("no VPC in {} matches {what}", self.region),
            )),
            n => Err(AwsError::local(
                Service::Ec2,
                "DescribeVpcs",
                ErrorKind::Invalid,
                format!(
                    "{n} VPCs match {what}, expected exactly one: {}; name it by id or by more tags",
                    vpcs.iter()
                        .map(|v| format!("{}{}", v.id, name_of(&v.tags)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The subnets of `vpc_id` the selector names, sorted by availability zone then id.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] if none match, or a named id does not exist
    ///   (`InvalidSubnetID.NotFound`);
    /// - [`ErrorKind::Invalid`] if a named subnet is in another VPC;
    /// - any other [`AwsError`] of `DescribeSubnets`.
    pub async fn find_subnets(
        &self,
        vpc_id: &str,
        selector: &SubnetSelector,
    ) -> Result<Vec<Subnet>, AwsError> {
        let req = self.ec2.describe_subnets();
        let req = match selector {
            SubnetSelector::Ids(ids) => req.set_subnet_ids(Some(ids.clone())),
            SubnetSelector::Tags(pairs) => pairs
                .iter()
                .fold(req.filters(filter("vpc-id", [vpc_id])), |r, (k, v)| {
                    r.filters(tag_filter(k, v))
                }),
        };
        let mut subnets: Vec<Subnet> = req
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "DescribeSubnets", e))?
            .iter()
            .map(to_subnet)
            .collect();
        if let Some(foreign) = subnets.iter().find(|s| s.vpc_id != vpc_id) {
            return Err(AwsError::local(
                Service::Ec2,
                "DescribeSubnets",
                ErrorKind::Invalid,
                format!(
                    "subnet {} is in {}, not in the selected VPC {vpc_id}",
                    foreign.id, foreign.vpc_id
                ),
            ));
        }
        if let SubnetSelector::Ids(ids) = selector
            && let Some(missing) = ids.iter().find(|id| !subnets.iter().any(|s| &s.id == *id))
        {
            return Err(AwsError::local(
                Service::Ec2,
                "DescribeSubnets",
                ErrorKind::NotFound,
                format!("subnet {missing} does not exist in {}", self.region),
            ));
        }
        if subnets.is_empty() {
            let what = match selector {
                SubnetSelector::Ids(_) => "the given ids".to_owned(),
                SubnetSelector::Tags(pairs) => format!("tags {}", selector_text(pairs)),
            };
            return Err(AwsError::local(
                Service::Ec2,
                "DescribeSubnets",
                ErrorKind::NotFound,
                format!("no subnet of {vpc_id} matches {what}"),
            ));
        }
        subnets.sort_by(|a, b| (&a.availability_zone, &a.id).cmp(&(&b.availability_zone, &b.id)));
        Ok(subnets)
    }

    /// The security group named `name` in `vpc_id`, if any.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeSecurityGroups`.
    pub async fn find_security_group(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Option<SecurityGroup>, AwsError> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", [vpc_id]))
            .filters(filter("group-name", [name]))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "DescribeSecurityGroups", e))?;
        Ok(out.security_groups().first().map(to_security_group))
    }

    /// The security groups carrying plink's tags for `query`.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeSecurityGroups`.
    pub async fn find_security_groups(
        &self,
        query: &TagQuery,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        let out = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(query.ec2_filters()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "DescribeSecurityGroups", e))?;
        Ok(out
            .security_groups()
            .iter()
            .map(to_security_group)
            .collect())
    }

    /// The security group with this id, `None` if it does not exist.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeSecurityGroups` other than `InvalidGroup.NotFound`.
    pub async fn describe_security_group(
        &self,
        group_id: &str,
    ) -> Result<Option<SecurityGroup>, AwsError> {
        match self
            .ec2
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
        {
            Ok(out) => Ok(out.security_groups().first().map(to_security_group)),
            Err(e) => {
                let err = AwsError::from_sdk(Service::Ec2, "DescribeSecurityGroups", e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Creates the security group (tagged), then allows TCP 443 in from `ingress_cidrs`.
    ///
    /// Security groups have no client token: the caller first looks the group up by name with
    /// [`find_security_group`](Self::find_security_group); if a previous run created the group
    /// but died before the ingress rules, [`allow_https_from`](Self::allow_https_from) completes it.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`InvalidGroup.Duplicate`) if the name is taken in the VPC; any
    /// other [`AwsError`] of `CreateSecurityGroup` / `AuthorizeSecurityGroupIngress`.
    pub async fn create_security_group(
        &self,
        input: &CreateSecurityGroup,
    ) -> Result<SecurityGroup, AwsError> {
        tracing::debug!(vpc = %input.vpc_id, name = %input.name, "CreateSecurityGroup");
        let out = self
            .ec2
            .create_security_group()
            .vpc_id(&input.vpc_id)
            .group_name(&input.name)
            .description(&input.description)
            .tag_specifications(input.tags.ec2_spec(ResourceType::SecurityGroup))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "CreateSecurityGroup", e))?;
        let id = out.group_id().unwrap_or_default().to_owned();
        self.allow_https_from(&id, &input.ingress_cidrs).await?;
        Ok(SecurityGroup {
            id,
            name: input.name.clone(),
            vpc_id: Some(input.vpc_id.clone()),
            https_ingress_cidrs: input.ingress_cidrs.clone(),
            tags: input.tags.to_map(),
        })
    }

    /// Allows TCP 443 in from each CIDR. Rules that already exist are fine.
    ///
    /// # Errors
    /// Any [`AwsError`] of `AuthorizeSecurityGroupIngress` except `InvalidPermission.Duplicate`.
    pub async fn allow_https_from(&self, group_id: &str, cidrs: &[String]) -> Result<(), AwsError> {
        // One call per CIDR: a batch fails as a whole on the first duplicate rule.
        for cidr in cidrs {
            let permission = IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip(cidr)
                        .description("plink: HTTPS from the NLB subnets")
                        .build(),
                )
                .build();
            match self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(permission)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    let err = AwsError::from_sdk(Service::Ec2, "AuthorizeSecurityGroupIngress", e);
                    if !err.has_code("InvalidPermission.Duplicate") {
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes a security group. A group that no longer exists is fine.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`DependencyViolation`) while network interfaces still use it —
    /// an interface endpoint's ENIs disappear some time after the endpoint is deleted, so callers
    /// retry; any other [`AwsError`] of `DeleteSecurityGroup`.
    pub async fn delete_security_group(&self, group_id: &str) -> Result<(), AwsError> {
        tracing::debug!(group = %group_id, "DeleteSecurityGroup");
        match self
            .ec2
            .delete_security_group()
            .group_id(group_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk(Service::Ec2, "DeleteSecurityGroup", e);
                if err.is_not_found() { Ok(()) } else { Err(err) }
            }
        }
    }
}
