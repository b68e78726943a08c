//! Ownership tags (field notes §C.4).
//!
//! Every resource plink creates carries `plink:deployment=<name>`, `plink:step=<step id>`,
//! `plink:managed-by=plink` and usually `Name`. Lookups filter on them, so that a resource whose
//! create answer was lost (crash, timeout) is found and adopted instead of created twice, and so
//! that `plink status --orphans` can list what plink made but no longer tracks — the same idea as
//! the `sigs.k8s.io/cluster-api-provider-aws/cluster/<name>` tags of cluster-api-provider-aws.
//!
//! EC2 and ELBv2 have distinct `Tag` types; this module converts to both.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, TagSpecification};
use aws_sdk_elasticloadbalancingv2::types::Tag as ElbTag;

use super::AwsClients;
use super::error::{Result, elb_error, unless_not_found};

/// Tag key: the deployment (plink's name for one end-to-end setup).
pub const TAG_DEPLOYMENT: &str = "plink:deployment";
/// Tag key: the workflow step that created the resource.
pub const TAG_STEP: &str = "plink:step";
/// Tag key: always [`MANAGED_BY_PLINK`] on resources plink created.
pub const TAG_MANAGED_BY: &str = "plink:managed-by";
/// Value of [`TAG_MANAGED_BY`].
pub const MANAGED_BY_PLINK: &str = "plink";
/// The console's display name tag.
pub const TAG_NAME: &str = "Name";

/// Tags of one resource, by key.
pub type Tags = BTreeMap<String, String>;

/// The tags plink puts on a resource it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlinkTags {
    pub deployment: String,
    pub step: String,
    /// The `Name` tag, if any.
    pub name: Option<String>,
}

impl PlinkTags {
    /// Tags for a resource of `deployment` created by `step`.
    pub fn new(deployment: impl Into<String>, step: impl Into<String>) -> Self {
        Self {
            deployment: deployment.into(),
            step: step.into(),
            name: None,
        }
    }

    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn to_map(&self) -> Tags {
        let mut tags = Tags::new();
        if let Some(name) = &self.name {
            tags.insert(TAG_NAME.into(), name.clone());
        }
        tags.insert(TAG_DEPLOYMENT.into(), self.deployment.clone());
        tags.insert(TAG_STEP.into(), self.step.clone());
        tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY_PLINK.into());
        tags
    }

    /// An EC2 `TagSpecification` for a create call of the given resource type.
    pub fn ec2_spec(&self, resource_type: ResourceType) -> TagSpecification {
        let mut spec = TagSpecification::builder().resource_type(resource_type);
        for (k, v) in self.to_map() {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        }
        spec.build()
    }

    /// ELBv2 tags for a create call.
    pub fn elb_tags(&self) -> Vec<ElbTag> {
        self.to_map()
            .into_iter()
            .map(|(k, v)| ElbTag::builder().key(k).value(v).build())
            .collect()
    }

    /// The query that finds exactly the resources carrying these tags' ownership keys.
    pub fn query(&self) -> TagQuery {
        TagQuery::deployment(&self.deployment).step(&self.step)
    }
}

/// A lookup by plink's ownership tags: everything of a deployment, optionally of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagQuery {
    pub deployment: Option<String>,
    pub step: Option<String>,
}

impl TagQuery {
    /// Everything plink manages, of any deployment (orphan scans).
    pub fn any_deployment() -> Self {
        Self::default()
    }

    /// Everything of one deployment.
    pub fn deployment(deployment: impl Into<String>) -> Self {
        Self {
            deployment: Some(deployment.into()),
            step: None,
        }
    }

    #[must_use]
    pub fn step(mut self, step: impl Into<String>) -> Self {
        self.step = Some(step.into());
        self
    }

    /// The key/value pairs a resource must carry.
    pub fn required(&self) -> Vec<(&str, &str)> {
        let mut req = vec![(TAG_MANAGED_BY, MANAGED_BY_PLINK)];
        if let Some(d) = &self.deployment {
            req.push((TAG_DEPLOYMENT, d));
        }
        if let Some(s) = &self.step {
            req.push((TAG_STEP, s));
        }
        req
    }

    /// EC2 `Filter`s (`tag:plink:deployment`, …) for Describe calls.
    pub fn ec2_filters(&self) -> Vec<Filter> {
        self.required()
            .into_iter()
            .map(|(k, v)| tag_filter(k, v))
            .collect()
    }

    /// Whether a resource's tags match (used where the API cannot filter, e.g. ELBv2).
    pub fn matches(&self, tags: &Tags) -> bool {
        self.required()
            .into_iter()
            .all(|(k, v)| tags.get(k).map(String::as_str) == Some(v))
    }
}

/// An EC2 filter on one tag: `tag:<key> = <value>`.
pub fn tag_filter(key: &str, value: &str) -> Filter {
    filter(&format!("tag:{key}"), [value])
}

/// An EC2 filter with the given name and values.
pub fn filter<'a>(name: &str, values: impl IntoIterator<Item = &'a str>) -> Filter {
    let mut f = Filter::builder().name(name);
    for v in values {
        f = f.values(v);
    }
    f.build()
}

pub fn from_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    to_map(tags.iter().map(|t| (t.key(), t.value())))
}

pub fn from_elb(tags: &[ElbTag]) -> Tags {
    to_map(tags.iter().map(|t| (t.key(), t.value())))
}

/// (key, value) pairs as a map; a tag without a key is dropped, one without a value is "".
fn to_map<'a>(pairs: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Tags {
    pairs
        .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
        .collect()
}

/// ELBv2 `DescribeTags` takes at most 20 ARNs per call.
const ELB_DESCRIBE_TAGS_MAX: usize = 20;

impl AwsClients {
    /// The tags of ELBv2 resources (load balancers, target groups, listeners), by ARN.
    ///
    /// ARNs that no longer exist are left out of the answer.
    ///
    /// # Errors
    /// [`AwsError`](super::AwsError) of `DescribeTags`; a `…NotFound` for one chunk of ARNs is
    /// retried ARN by ARN so that one deleted resource does not hide the others.
    pub async fn elb_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>> {
        let mut out = BTreeMap::new();
        for chunk in arns.chunks(ELB_DESCRIBE_TAGS_MAX) {
            match self.elb_tags_chunk(chunk).await {
                Ok(found) => out.extend(found),
                Err(e) if e.is_not_found() => {
                    for arn in chunk {
                        let found = self.elb_tags_chunk(std::slice::from_ref(arn)).await;
                        out.extend(unless_not_found(found)?.unwrap_or_default());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn elb_tags_chunk(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>> {
        let req = self
            .elb
            .describe_tags()
            .set_resource_arns(Some(arns.to_vec()));
        let out = req.send().await.map_err(elb_error("DescribeTags"))?;
        let descriptions = out.tag_descriptions().iter();
        Ok(descriptions
            .filter_map(|d| Some((d.resource_arn()?.to_owned(), from_elb(d.tags()))))
            .collect())
    }

    /// The ELBv2 resources among `arns` whose tags match `query` (DescribeTags on the ARNs).
    ///
    /// # Errors
    /// See [`AwsClients::elb_tags`].
    pub async fn elb_arns_matching(
        &self,
        arns: &[String],
        query: &TagQuery,
    ) -> Result<Vec<String>> {
        let mut tags = self.elb_tags(arns).await?;
        tags.retain(|_, tags| query.matches(tags));
        Ok(tags.into_keys().collect())
    }

    /// The resources among `all` (ELBv2, `arn` giving each one's ARN) whose tags match `query`;
    /// errors as [`AwsClients::elb_tags`].
    pub(crate) async fn elb_matching<T>(
        &self,
        mut all: Vec<T>,
        arn: fn(&T) -> &String,
        query: &TagQuery,
    ) -> Result<Vec<T>> {
        let arns: Vec<String> = all.iter().map(|r| arn(r).clone()).collect();
        let matching = self.elb_arns_matching(&arns, query).await?;
        all.retain(|r| matching.contains(arn(r)));
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_carry_the_ownership_keys() {
        let tags = PlinkTags::new("dep", "endpoint").with_name("plink-dep-endpoint");
        let map = tags.to_map();
        assert_eq!(map[TAG_MANAGED_BY], MANAGED_BY_PLINK);
        assert_eq!(map[TAG_NAME], "plink-dep-endpoint");
        assert!(tags.query().matches(&map));
        assert!(!TagQuery::deployment("other").matches(&map));
        assert!(TagQuery::any_deployment().matches(&map));
    }

    #[test]
    fn ec2_filters_use_the_tag_prefix() {
        let filters = TagQuery::deployment("dep").step("nlb").ec2_filters();
        let names: Vec<_> = filters.iter().map(|f| f.name().unwrap()).collect();
        let expected = [
            "tag:plink:managed-by",
            "tag:plink:deployment",
            "tag:plink:step",
        ];
        assert_eq!(names, expected);
    }
}
