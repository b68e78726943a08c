use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One observation made while waiting.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// The target state is reached.
    Ready(T),
    /// Not yet; the text says what was seen (e.g. `state=provisioning`). Unknown future state
    /// values belong here too: they are never taken for success.
    Pending(String),
}

/// How to poll one condition (issue #13 item 1), the one place that decides when waits look.
///
/// The first look is immediate (the resource may be ready already). After that, no look before
/// `prior` — the earliest the transition is expected, from what it typically takes — and from
/// then on a look every 10 % of the time waited so far, at least `floor` (1 s against real
/// clouds) and at most `cap` apart.
///
/// # Guarantees
/// A transition at time `t ≥ prior` (since the wait started) is seen by
/// `t + max(floor, t / 10)` while `t / 10 ≤ cap`, and by `t + cap` after that; the wait gives
/// up after `timeout`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPolicy {
    pub floor: Duration,
    pub cap: Duration,
    pub prior: Duration,
    pub timeout: Duration,
}

impl WaitPolicy {
    /// A wait that gives up after `timeout`, first looking again at `prior`, then every 10 % of
    /// the time waited (at least 1 s, at most `cap`).
    pub fn new(prior: Duration, cap: Duration, timeout: Duration) -> Self {
        Self {
            floor: Duration::from_secs(1).min(cap),
            cap,
            prior,
            timeout,
        }
    }

    /// Divides every interval by `factor` (tests and the local stack run on scaled time).
    pub fn scaled_down(mut self, factor: u32) -> Self {
        let f = factor.max(1);
        self.floor /= f;
        self.cap /= f;
        self.prior /= f;
        self
    }

    /// How long to wait before the next look, `waited` after the wait started. Up to 10 %
    /// earlier at random (never later), so that many deployments do not poll in lockstep.
    pub fn next_delay(&self, waited: Duration) -> Duration {
        if waited < self.prior {
            return self.prior - waited;
        }
        let nominal = (waited / 10).clamp(self.floor, self.cap.max(self.floor));
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        let jitter = 1.0 - (nanos % 1000) as f64 / 10_000.0;
        nominal.mul_f64(jitter).max(self.floor.min(nominal))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::WaitPolicy;

    /// The poll times of `p` until `until` (the first at 0).
    fn polls(p: &WaitPolicy, until: Duration) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        let mut out = vec![at];
        while at < until {
            at += p.next_delay(at);
            out.push(at);
        }
        out
    }

    #[test]
    fn a_transition_after_the_prior_is_seen_within_ten_percent_of_the_time_waited() {
        let p = WaitPolicy::new(
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        );
        let times = polls(&p, Duration::from_secs(1200));
        for t_ms in (60_000..1_200_000).step_by(997) {
            let t = Duration::from_millis(t_ms);
            let seen = *times
                .iter()
                .find(|&&poll| poll >= t)
                .expect("a poll after t");
            let bound = (t / 10).clamp(p.floor, p.cap);
            assert!(
                seen - t <= bound,
                "transition at {t:?} seen at {seen:?} (bound {bound:?})"
            );
        }
        // Nothing is polled between the first look and the prior.
        assert_eq!(times[1], Duration::from_secs(60));
    }

    #[test]
    fn without_a_prior_polls_are_dense_at_first() {
        let p = WaitPolicy::new(
            Duration::ZERO,
            Duration::from_secs(30),
            Duration::from_secs(600),
        );
        let times = polls(&p, Duration::from_secs(10));
        assert!(times.len() >= 10, "{times:?}");
        assert!(
            times
                .windows(2)
                .all(|w| w[1] - w[0] <= Duration::from_secs(1)),
            "{times:?}"
        );
    }

    #[test]
    fn fewer_looks_than_a_fixed_ten_second_poll_for_a_typical_nlb() {
        // NLB: prior 90 s, active at ~180 s. A script polling every 10 s looks 18 times.
        let p = WaitPolicy::new(
            Duration::from_secs(90),
            Duration::from_secs(30),
            Duration::from_secs(600),
        );
        let looks = polls(&p, Duration::from_secs(180)).len();
        assert!(looks <= 10, "{looks}");
    }
}
