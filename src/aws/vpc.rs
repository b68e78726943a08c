//! The customer's VPC, its subnets, and the security group plink may manage.

use aws_sdk_ec2::operation::describe_security_groups::builders::DescribeSecurityGroupsFluentBuilder;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};

use super::error::{
    AwsError, ErrorKind, Result, Service, ec2_error, ignore_codes, unless_not_found,
};
use super::tags::{PlinkTags, TagQuery, Tags, filter, from_ec2, tag_filter};
use super::{AwsClients, or_empty};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    /// The primary CIDR block first, then the associated ones.
    pub cidr_blocks: Vec<String>,
    pub owner_id: Option<String>,
    pub is_default: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub availability_zone_id: Option<String>,
    pub cidr_block: String,
    pub tags: Tags,
}

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

/// `k=v,k=v`, for messages.
fn selector_text(pairs: &[(String, String)]) -> String {
    let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// `vpc-… (Name)`, for messages.
fn label(vpc: &Vpc) -> String {
    match vpc.tags.get("Name") {
        Some(name) => format!("{} ({name})", vpc.id),
        None => vpc.id.clone(),
    }
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
        id: or_empty(v.vpc_id()),
        cidr_blocks,
        owner_id: v.owner_id().map(str::to_owned),
        is_default: v.is_default().unwrap_or(false),
        tags: from_ec2(v.tags()),
    }
}

fn to_subnet(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: or_empty(s.subnet_id()),
        vpc_id: or_empty(s.vpc_id()),
        availability_zone: or_empty(s.availability_zone()),
        availability_zone_id: s.availability_zone_id().map(str::to_owned),
        cidr_block: or_empty(s.cidr_block()),
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
        id: or_empty(g.group_id()),
        name: or_empty(g.group_name()),
        vpc_id: g.vpc_id().map(str::to_owned),
        https_ingress_cidrs,
        tags: from_ec2(g.tags()),
    }
}

/// The security groups a `DescribeSecurityGroups` request answers (one page: lookups by id,
/// name or tags).
async fn security_groups(req: DescribeSecurityGroupsFluentBuilder) -> Result<Vec<SecurityGroup>> {
    let sent = req.send().await;
    let out = sent.map_err(ec2_error("DescribeSecurityGroups"))?;
    let groups = out.security_groups().iter();
    Ok(groups.map(to_security_group).collect())
}

impl AwsClients {
    /// The one VPC the selector names.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] if no VPC matches (by id: `InvalidVpcID.NotFound`);
    /// - [`ErrorKind::Invalid`] if the tags match several VPCs (the message lists them);
    /// - any other [`AwsError`] of `DescribeVpcs`.
    pub async fn find_vpc(&self, selector: &VpcSelector) -> Result<Vpc> {
        let req = self.ec2.describe_vpcs();
        let (req, what) = match selector {
            VpcSelector::Id(id) => (req.vpc_ids(id), format!("id {id}")),
            VpcSelector::Tags(pairs) => {
                let filters = pairs.iter().map(|(k, v)| tag_filter(k, v)).collect();
                (
                    req.set_filters(Some(filters)),
                    format!("tags {}", selector_text(pairs)),
                )
            }
        };
        let vpcs = all_items!(req, ec2_error("DescribeVpcs"), to_vpc)?;
        let fail = |kind, msg| Err(AwsError::local(Service::Ec2, "DescribeVpcs", kind, msg));
        match vpcs.len() {
            1 => Ok(vpcs.into_iter().next().expect("one")),
            0 => fail(
                ErrorKind::NotFound,
                format!("no VPC in {} matches {what}", self.region),
            ),
            n => {
                let listed: Vec<String> = vpcs.iter().map(label).collect();
                let listed = listed.join(", ");
                let msg = format!(
                    "{n} VPCs match {what}, expected exactly one: {listed}; name it by id or by more tags"
                );
                fail(ErrorKind::Invalid, msg)
            }
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
    ) -> Result<Vec<Subnet>> {
        let req = self.ec2.describe_subnets();
        let req = match selector {
            SubnetSelector::Ids(ids) => req.set_subnet_ids(Some(ids.clone())),
            SubnetSelector::Tags(pairs) => {
                let vpc = filter("vpc-id", [vpc_id]);
                pairs
                    .iter()
                    .fold(req.filters(vpc), |r, (k, v)| r.filters(tag_filter(k, v)))
            }
        };
        let mut subnets = all_items!(req, ec2_error("DescribeSubnets"), to_subnet)?;
        let fail = |kind, msg| Err(AwsError::local(Service::Ec2, "DescribeSubnets", kind, msg));
        if let Some(foreign) = subnets.iter().find(|s| s.vpc_id != vpc_id) {
            let (id, its_vpc) = (&foreign.id, &foreign.vpc_id);
            let msg = format!("subnet {id} is in {its_vpc}, not in the selected VPC {vpc_id}");
            return fail(ErrorKind::Invalid, msg);
        }
        if let SubnetSelector::Ids(ids) = selector
            && let Some(missing) = ids.iter().find(|id| !subnets.iter().any(|s| &s.id == *id))
        {
            let msg = format!("subnet {missing} does not exist in {}", self.region);
            return fail(ErrorKind::NotFound, msg);
        }
        if subnets.is_empty() {
            let what = match selector {
                SubnetSelector::Ids(_) => "the given ids".to_owned(),
                SubnetSelector::Tags(pairs) => format!("tags {}", selector_text(pairs)),
            };
            let msg = format!("no subnet of {vpc_id} matches {what}");
            return fail(ErrorKind::NotFound, msg);
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
    ) -> Result<Option<SecurityGroup>> {
        let req = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", [vpc_id]))
            .filters(filter("group-name", [name]));
        Ok(security_groups(req).await?.into_iter().next())
    }

    /// The security groups carrying plink's tags for `query`.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeSecurityGroups`.
    pub async fn find_security_groups(&self, query: &TagQuery) -> Result<Vec<SecurityGroup>> {
        let req = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(query.ec2_filters()));
        security_groups(req).await
    }

    /// The security group with this id, `None` if it does not exist.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeSecurityGroups` other than `InvalidGroup.NotFound`.
    pub async fn describe_security_group(&self, group_id: &str) -> Result<Option<SecurityGroup>> {
        let req = self.ec2.describe_security_groups().group_ids(group_id);
        let found = unless_not_found(security_groups(req).await)?;
        Ok(found.and_then(|groups| groups.into_iter().next()))
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
    ) -> Result<SecurityGroup> {
        tracing::debug!(vpc = %input.vpc_id, name = %input.name, "CreateSecurityGroup");
        let req = self
            .ec2
            .create_security_group()
            .vpc_id(&input.vpc_id)
            .group_name(&input.name)
            .description(&input.description)
            .tag_specifications(input.tags.ec2_spec(ResourceType::SecurityGroup));
        self.spend("ec2", "CreateSecurityGroup").await;
        let out = req.send().await.map_err(ec2_error("CreateSecurityGroup"))?;
        let id = or_empty(out.group_id());
        // A group made just now has no rule a batch could duplicate: one call for all CIDRs.
        if !input.ingress_cidrs.is_empty() {
            self.authorize_https(&id, &input.ingress_cidrs).await?;
        }
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
    pub async fn allow_https_from(&self, group_id: &str, cidrs: &[String]) -> Result<()> {
        // One call per CIDR: a batch fails as a whole on the first duplicate rule.
        for cidr in cidrs {
            self.authorize_https(group_id, std::slice::from_ref(cidr))
                .await?;
        }
        Ok(())
    }

    /// One `AuthorizeSecurityGroupIngress` for TCP 443 from `cidrs` (a duplicate is fine).
    async fn authorize_https(&self, group_id: &str, cidrs: &[String]) -> Result<()> {
        let ranges = cidrs.iter().map(|cidr| {
            IpRange::builder()
                .cidr_ip(cidr)
                .description("plink: HTTPS from the NLB subnets")
                .build()
        });
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .set_ip_ranges(Some(ranges.collect()))
            .build();
        self.spend("ec2", "AuthorizeSecurityGroupIngress").await;
        let sent = self
            .ec2
            .authorize_security_group_ingress()
            .group_id(group_id)
            .ip_permissions(permission)
            .send()
            .await
            .map_err(ec2_error("AuthorizeSecurityGroupIngress"));
        ignore_codes(sent, &["InvalidPermission.Duplicate"])?;
        Ok(())
    }

    /// Deletes a security group. A group that no longer exists is fine.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`DependencyViolation`) while network interfaces still use it —
    /// an interface endpoint's ENIs disappear some time after the endpoint is deleted, so callers
    /// retry; any other [`AwsError`] of `DeleteSecurityGroup`.
    pub async fn delete_security_group(&self, group_id: &str) -> Result<()> {
        tracing::debug!(group = %group_id, "DeleteSecurityGroup");
        let req = self.ec2.delete_security_group().group_id(group_id);
        self.spend("ec2", "DeleteSecurityGroup").await;
        unless_not_found(req.send().await.map_err(ec2_error("DeleteSecurityGroup")))?;
        Ok(())
    }
}
