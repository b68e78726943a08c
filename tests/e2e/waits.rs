//! Waits notice their transition within the bound of issue #13 item 1: within max(1 s, 10 % of the
//! time already waited) of it, checked on the emulator's own call log (its clock) for the waits
//! whose transition time the stack's delay model fixes: the NLB (`provisioning` → `active`) and
//! the interface endpoint (`pending` → `available`).

use std::time::Duration;

use crate::common::{Emu, Stack, Workdir};

/// What a poll may lag behind the bound, on top of it: one round trip and scheduling on a
/// loaded 2-core machine (the bound itself is a few tens of milliseconds on scaled time).
const MARGIN: Duration = Duration::from_millis(120);

#[test]
fn nlb_and_endpoint_waits_notice_their_transition_within_ten_percent_of_the_time_waited() {
    let stack = Stack::start();
    let config = stack.config();
    let scale = config["time_scale"].as_f64().expect("time scale");
    let delay = |key: &str| config["delays"][key].as_f64().expect(key) * scale;
    // plink polls on the emulator's clock: its intervals are divided by 1 / scale.
    let wait_scale = (1.0 / scale).round().to_string();
    let wd = Workdir::demo();
    stack.clear_all_calls();
    stack
        .plink(&wd)
        .args(["up"])
        .workflow()
        .env("PLINK_WAIT_SCALE", &wait_scale)
        .code(0)
        .run();
    let calls = stack.calls(Emu::Aws);
    let floor = 1.0 / (1.0 / scale).round();
    for (create, poll, transition) in [
        (
            "CreateLoadBalancer",
            "DescribeLoadBalancers",
            delay("nlb_provisioning"),
        ),
        (
            "CreateVpcEndpoint",
            "DescribeVpcEndpoints",
            delay("endpoint_pending"),
        ),
    ] {
        let created = calls
            .iter()
            .find(|c| c.action == create && c.status == Some(200))
            .unwrap_or_else(|| panic!("no {create} in the call log"))
            .t;
        let at = created + transition;
        let seen = calls
            .iter()
            .filter(|c| c.action == poll && c.t >= at)
            .map(|c| c.t)
            .next()
            .unwrap_or_else(|| panic!("no {poll} after the transition at {at}"));
        let waited = at - created;
        let bound = (waited / 10.0).max(floor);
        let lag = seen - at;
        eprintln!(
            "{poll}: transition {waited:.3}s after {create}, seen {lag:.3}s later (bound {bound:.3}s + margin)"
        );
        assert!(
            lag <= bound + MARGIN.as_secs_f64(),
            "{poll}: transition {waited:.3}s after {create} seen {lag:.3}s late; bound {bound:.3}s"
        );
    }
}
