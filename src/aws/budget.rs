//! The request budget every deployment of one process shares (issue #13 item 3): a token bucket
//! per AWS account, region and throttling family, at the limits AWS publishes (field update
//! §5.4), so that `plink up teams/` with many deployments waits its turn in plink instead of
//! meeting `RequestLimitExceeded`. A call takes a token before it is sent; an empty bucket
//! queues the call until its token has refilled (reservations, so callers are served in order).
//!
//! Every mutating EC2 and ELBv2 call of `src/aws/` takes a token (`AwsClients::spend`), and so
//! does the preflight's dry run of one (`dry_run.rs`: it counts against the same bucket): those are
//! the tight buckets (`CreateVpcEndpoint` refills 0.3/s). `Describe*` calls are not budgeted:
//! plink's polling stays far below their 20/s (EC2) and 10/s (ELBv2) refill. The SDK's own
//! retries are not budgeted either (they back off on throttling by themselves).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A throttling family: its bucket size and refill rate per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// EC2 `Describe*`: 100, 20/s.
    Ec2Describe,
    /// EC2 `DescribeSecurityGroups` / `DescribeNetworkInterfaces` (unfiltered: 50, 10/s;
    /// plink filters them, but takes the stricter bucket).
    Ec2DescribeHeavy,
    /// `CreateVpcEndpoint`, `ModifyVpcEndpoint`, `DeleteVpcEndpoints`: 4, 0.3/s.
    Ec2Endpoint,
    /// `AcceptVpcEndpointConnections`, `RejectVpcEndpointConnections`: 10, 1/s.
    Ec2Connections,
    /// `Create/Modify/DeleteVpcEndpointServiceConfiguration(s)`: 10, 1/s.
    Ec2ServiceConfiguration,
    /// `CreateTags` / `DeleteTags`: 100, 10/s.
    Ec2Tags,
    /// Every other mutating EC2 call (`CreateSecurityGroup`, `AuthorizeSecurityGroupIngress`,
    /// `ModifyVpcEndpointServicePermissions`, …): 50, 5/s.
    Ec2Mutating,
    /// ELBv2 `Describe*`: 40, 10/s.
    ElbDescribe,
    /// ELBv2 changes: not captured in the reference; taken as EC2's mutating default, 50, 5/s
    /// (UNCONFIRMED).
    ElbMutating,
}

impl Family {
    /// The family of `service`'s `action` (`ec2`/`elbv2`); `None`: not budgeted (S3, RDS, STS).
    pub fn of(service: &str, action: &str) -> Option<Family> {
        let describe = action.starts_with("Describe") || action.starts_with("Get");
        Some(match service {
            "ec2" => match action {
                "DescribeSecurityGroups" | "DescribeNetworkInterfaces" | "DescribeInstances" => {
                    Family::Ec2DescribeHeavy
                }
                _ if describe => Family::Ec2Describe,
                "CreateVpcEndpoint" | "ModifyVpcEndpoint" | "DeleteVpcEndpoints" => {
                    Family::Ec2Endpoint
                }
                "AcceptVpcEndpointConnections" | "RejectVpcEndpointConnections" => {
                    Family::Ec2Connections
                }
                "CreateVpcEndpointServiceConfiguration"
                | "ModifyVpcEndpointServiceConfiguration"
                | "DeleteVpcEndpointServiceConfigurations" => Family::Ec2ServiceConfiguration,
                "CreateTags" | "DeleteTags" => Family::Ec2Tags,
                _ => Family::Ec2Mutating,
            },
            "elbv2" if describe => Family::ElbDescribe,
            "elbv2" => Family::ElbMutating,
            _ => return None,
        })
    }

    /// (bucket size, refill per second).
    pub fn limits(self) -> (f64, f64) {
        match self {
            Family::Ec2Describe => (100.0, 20.0),
            Family::Ec2DescribeHeavy => (50.0, 10.0),
            Family::Ec2Endpoint => (4.0, 0.3),
            Family::Ec2Connections | Family::Ec2ServiceConfiguration => (10.0, 1.0),
            Family::Ec2Tags => (100.0, 10.0),
            Family::Ec2Mutating | Family::ElbMutating => (50.0, 5.0),
            Family::ElbDescribe => (40.0, 10.0),
        }
    }
}

/// One bucket: tokens (negative: calls queued) as of `at`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// plink refills its buckets at this share of the published rate. Its bucket and AWS's do not
/// start at the same instant, and requests reach AWS with jitter (one sent later may arrive
/// sooner): a budget exactly at the limit meets a throttle now and then (`make bench` saw it with
/// ten deployments), one a fifth below does not.
const REFILL_SHARE: f64 = 0.8;

/// The buckets of the process, by (account, region, family).
static BUCKETS: LazyLock<Mutex<HashMap<(String, String, Family), Bucket>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// How long the caller must wait for a token of `key`'s bucket taken at `now` (refill `scale`
/// times faster: the local stack runs on scaled time).
fn reserve(key: (String, String, Family), now: Instant, scale: f64) -> Duration {
    let (size, refill) = key.2.limits();
    let refill = refill * REFILL_SHARE * scale.max(1.0);
    let mut buckets = BUCKETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bucket = buckets.entry(key).or_insert(Bucket {
        tokens: size,
        at: now,
    });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * refill).min(size);
    bucket.at = now.max(bucket.at);
    bucket.tokens -= 1.0;
    if bucket.tokens >= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(-bucket.tokens / refill)
    }
}

/// Takes a token for `service`'s `action` in `account`/`region`, waiting until one is there.
pub async fn spend(account: &str, region: &str, service: &str, action: &str, scale: u32) {
    let Some(family) = Family::of(service, action) else {
        return;
    };
    let key = (account.to_owned(), region.to_owned(), family);
    let wait = reserve(key, Instant::now(), f64::from(scale));
    if !wait.is_zero() {
        tracing::debug!(
            action,
            ?family,
            wait_ms = wait.as_millis() as u64,
            "request budget: waiting for a token"
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_published_buckets() {
        assert_eq!(
            Family::of("ec2", "CreateVpcEndpoint"),
            Some(Family::Ec2Endpoint)
        );
        assert_eq!(
            Family::of("ec2", "DescribeVpcEndpoints"),
            Some(Family::Ec2Describe)
        );
        assert_eq!(
            Family::of("ec2", "DescribeSecurityGroups"),
            Some(Family::Ec2DescribeHeavy)
        );
        assert_eq!(
            Family::of("ec2", "AcceptVpcEndpointConnections"),
            Some(Family::Ec2Connections)
        );
        assert_eq!(
            Family::of("ec2", "CreateSecurityGroup"),
            Some(Family::Ec2Mutating)
        );
        assert_eq!(
            Family::of("elbv2", "DescribeTargetHealth"),
            Some(Family::ElbDescribe)
        );
        assert_eq!(
            Family::of("elbv2", "CreateListener"),
            Some(Family::ElbMutating)
        );
        assert_eq!(Family::of("s3", "PutBucketPolicy"), None);
    }

    #[test]
    fn a_burst_is_served_at_once_then_calls_queue_at_the_refill_rate() {
        // CreateVpcEndpoint: 4 at once, then one every 1/(0.8 × 0.3) s, each waiting behind the
        // last.
        let key = || {
            (
                "acct-burst".to_owned(),
                "xx-test-1".to_owned(),
                Family::Ec2Endpoint,
            )
        };
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(reserve(key(), t0, 1.0), Duration::ZERO);
        }
        let fifth = reserve(key(), t0, 1.0).as_secs_f64();
        let sixth = reserve(key(), t0, 1.0).as_secs_f64();
        let rate = REFILL_SHARE * 0.3;
        assert!((fifth - 1.0 / rate).abs() < 1e-6, "{fifth}");
        assert!((sixth - 2.0 / rate).abs() < 1e-6, "{sixth}");
        // Fifteen seconds later the queue has drained and a token is back (15 × 0.24 − 2 = 1.6).
        let later = t0 + Duration::from_secs(15);
        assert_eq!(reserve(key(), later, 1.0), Duration::ZERO);
        // Buckets are per account and region.
        let other = (
            "acct-other".to_owned(),
            "xx-test-1".to_owned(),
            Family::Ec2Endpoint,
        );
        assert_eq!(reserve(other, t0, 1.0), Duration::ZERO);
    }

    #[test]
    fn the_local_stack_scale_speeds_up_the_refill() {
        let key = || {
            (
                "acct-scale".to_owned(),
                "xx-test-1".to_owned(),
                Family::Ec2Endpoint,
            )
        };
        let t0 = Instant::now();
        for _ in 0..4 {
            reserve(key(), t0, 50.0);
        }
        let wait = reserve(key(), t0, 50.0).as_secs_f64();
        assert!((wait - 1.0 / (REFILL_SHARE * 15.0)).abs() < 1e-6, "{wait}");
    }
}
