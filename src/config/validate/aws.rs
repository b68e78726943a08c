/*!
`[aws]`, `[endpoint]` and `[nlb]`: the customer side.
*/

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::{Validator, check_profile};
use crate::config::decode::push_key;
use crate::config::ids::{AwsIdKind, check_aws_id, check_role_arn, check_service_name};
use crate::config::names::{DeploymentName, ElbNameKind, check_elb_name};
use crate::config::policy::load_policy;
use crate::config::raw::{
    RawAws, RawEndpoint, RawNlb, RawSubnets, RawTags, RawVpc, SpannedStrings, Table,
};
use crate::config::region::Region;
use crate::config::workflow::{
    AwsSettings, EndpointSettings, NlbSettings, SecurityGroups, SubnetSelector, VpcSelector,
};

/// What `endpoint.security_group_ids = []` lacks.
const EMPTY_SECURITY_GROUPS: &str = "security group id (omit the key to let plink create one)";

impl Validator<'_> {
    pub(crate) fn aws(&mut self, raw: RawAws, region: Option<&Region>) -> Option<AwsSettings> {
        let identity = self.aws_identity(raw.profile.as_ref(), raw.role_arn.as_ref(), region);
        let vpc = self.vpc(&raw.vpc);
        let subnets = self.subnets(&raw.subnets);
        let region = region?.clone();
        let (profile, role_arn) = identity?;
        Some(AwsSettings {
            partition: region.partition(),
            region,
            profile,
            role_arn,
            vpc: vpc?,
            subnets: subnets?,
        })
    }

    /// `aws.profile` and `aws.role_arn` (what every kind that calls AWS takes, with or without
    /// a VPC).
    pub(crate) fn aws_identity(
        &mut self,
        profile: Option<&Spanned<String>>,
        role_arn: Option<&Spanned<String>>,
        region: Option<&Region>,
    ) -> Option<(Option<String>, Option<String>)> {
        let profile = self.check_optional(profile, "aws.profile", |p| check_profile(p));
        let role_arn = self.check_optional(role_arn, "aws.role_arn", |arn| {
            check_role_arn(arn, region).map(|()| arn.clone())
        });
        Some((profile?, role_arn?))
    }

    fn vpc(&mut self, raw: &Spanned<Table<RawVpc>>) -> Option<VpcSelector> {
        let inner = raw.get_ref();
        match (&inner.id, &inner.tags) {
            (Some(id), None) => self
                .check(id, "aws.vpc.id", |id| check_aws_id(id, AwsIdKind::Vpc))
                .map(|()| VpcSelector::Id(id.get_ref().clone())),
            (None, Some(tags)) => self.tags(tags, "aws.vpc.tags").map(VpcSelector::Tags),
            (id, _) => {
                self.exactly_one(raw.span(), "aws.vpc", "id", "tags", id.is_some());
                None
            }
        }
    }

    fn subnets(&mut self, raw: &Spanned<Table<RawSubnets>>) -> Option<SubnetSelector> {
        let inner = raw.get_ref();
        match (&inner.ids, &inner.tags) {
            (Some(ids), None) => {
                let ids = self.id_list(ids, "aws.subnets.ids", AwsIdKind::Subnet);
                if ids.as_ref().is_some_and(|ids| ids.len() < 2) {
                    let count = ids.as_ref().map_or(0, Vec::len);
                    self.report(
                        Some(inner.ids.as_ref()?.span()),
                        "aws.subnets.ids",
                        format_args!(
                            "expected at least 2 subnets in different availability zones \
                             (the load balancer and the endpoint need two), found {count}"
                        ),
                    );
                    return None;
                }
                ids.map(SubnetSelector::Ids)
            }
            (None, Some(tags)) => self
                .tags(tags, "aws.subnets.tags")
                .map(SubnetSelector::Tags),
            (ids, _) => {
                self.exactly_one(raw.span(), "aws.subnets", "ids", "tags", ids.is_some());
                None
            }
        }
    }

    /// A list of AWS ids: each checked, duplicates reported at the repeated entry.
    fn id_list(&mut self, raw: &SpannedStrings, key: &str, kind: AwsIdKind) -> Option<Vec<String>> {
        self.unique_items(raw, key, |id| check_aws_id(id, kind).map(|()| id.clone()))
    }

    /// A tag selector: at least one tag, keys 1–128 characters, values at most 256.
    fn tags(&mut self, raw: &RawTags, key: &str) -> Option<BTreeMap<String, String>> {
        if raw.get_ref().is_empty() {
            self.report(
                Some(raw.span()),
                key,
                "expected at least one tag, like { Name = \"my-vpc\" }, found an empty table",
            );
            return None;
        }
        let mut ok = true;
        for (tag, value) in raw.get_ref() {
            let mut tag_key = key.to_owned();
            push_key(&mut tag_key, tag);
            let problem = if tag.trim().is_empty() {
                Some("expected a non-empty tag key".to_owned())
            } else if tag.chars().count() > 128 {
                Some(format!(
                    "expected a tag key of at most 128 characters, found {}",
                    tag.chars().count()
                ))
            } else if value.get_ref().chars().count() > 256 {
                Some(format!(
                    "expected a tag value of at most 256 characters, found {}",
                    value.get_ref().chars().count()
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                self.report(Some(value.span()), &tag_key, problem);
                ok = false;
            }
        }
        ok.then(|| {
            raw.get_ref()
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect()
        })
    }

    pub(crate) fn endpoint(
        &mut self,
        raw: Option<RawEndpoint>,
        region: Option<&Region>,
    ) -> Option<EndpointSettings> {
        let raw = raw.unwrap_or_default();
        let service_name = match &raw.service_name {
            Some(name) => self.check(name, "endpoint.service_name", |name| {
                check_service_name(name, region).map(|()| name.clone())
            }),
            None => region.map(|region| format!("com.amazonaws.{region}.s3")),
        };
        let sg_key = "endpoint.security_group_ids";
        let security_groups = match &raw.security_group_ids {
            None => Some(SecurityGroups::CreateManaged),
            Some(ids) if self.reject_empty(ids, sg_key, EMPTY_SECURITY_GROUPS) => None,
            Some(ids) => self
                .id_list(ids, sg_key, AwsIdKind::SecurityGroup)
                .map(SecurityGroups::Existing),
        };
        let policy =
            self.check_optional(raw.policy_file.as_ref(), "endpoint.policy_file", |path| {
                if path.trim().is_empty() {
                    return Err("expected a path to a JSON policy file, found \"\"".to_owned());
                }
                let base = self.file.parent().unwrap_or(Path::new(""));
                load_policy(&base.join(path))
            });
        Some(EndpointSettings {
            service_name: service_name?,
            security_groups: security_groups?,
            policy: policy?,
        })
    }

    pub(crate) fn nlb(
        &mut self,
        raw: Option<RawNlb>,
        deployment: Option<&DeploymentName>,
        deployment_raw: &Spanned<String>,
    ) -> Option<NlbSettings> {
        let raw = raw.unwrap_or_default();
        let name = self.elb_name(
            raw.name.as_ref(),
            "nlb.name",
            ElbNameKind::LoadBalancer,
            deployment.map(DeploymentName::default_nlb_name),
            deployment_raw,
        );
        let target_group_name = self.elb_name(
            raw.target_group_name.as_ref(),
            "nlb.target_group_name",
            ElbNameKind::TargetGroup,
            deployment.map(DeploymentName::default_target_group_name),
            deployment_raw,
        );
        Some(NlbSettings {
            name: name?,
            target_group_name: target_group_name?,
            cross_zone: raw.cross_zone.unwrap_or(true),
        })
    }

    /// A given ELB name, or the default derived from the deployment name (which must fit too).
    fn elb_name(
        &mut self,
        given: Option<&Spanned<String>>,
        key: &str,
        kind: ElbNameKind,
        default: Option<String>,
        deployment_raw: &Spanned<String>,
    ) -> Option<String> {
        match given {
            Some(name) => self.check(name, key, |name| {
                check_elb_name(name, kind).map(|()| name.clone())
            }),
            None => {
                let default = default?;
                match check_elb_name(&default, kind) {
                    Ok(()) => Some(default),
                    Err(problem) => {
                        self.report(
                            Some(deployment_raw.span()),
                            key,
                            format_args!(
                                "the default name derived from deployment.name: {problem}; \
                                 shorten or change the deployment name, or set {key}"
                            ),
                        );
                        None
                    }
                }
            }
        }
    }
}
